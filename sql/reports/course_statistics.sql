-- Course statistics: how a course is doing as a whole.
--
-- Run:   psql -X -v ON_ERROR_STOP=1 -v course_id=42 -v min_group= -f sql/reports/course_statistics.sql
-- Takes: -v course_id=ID   one course; empty (course_id=) for every course
--        -v min_group=N    the smallest group shown; empty (min_group=) for the database's
--                          setting tracker.min_group, default 5 (reports.min_group(),
--                          migration 0020); tracker passes TRACKER_MIN_GROUP when set
-- The variables must be given (psql leaves an unset :'course_id' in the text).
--
-- Per course (deleted courses and courses marked missing in layer 0 are left out), the
-- figures of canvas.course_figures (migration 0009, where each is defined; the course
-- snapshot a sync records, sql/history/snapshots.sql, holds the same):
--   enrolled            active student enrollments, one per student
--   mean_score          mean of their Canvas current scores (%), 2 decimals
--   median_score        median of the same, 2 decimals
--   score_distribution  students per band of current score: A >= 90, B >= 80, C >= 70,
--                       D >= 60, F below 60, none (no current score yet)
--   missing, due        missing and due submissions of those students
--   missing_rate        missing / due, 4 decimals
--   suppressed          true when the course has fewer than min_group enrolled students:
--                       then every figure above is NULL, as published education
--                       statistics suppress small groups (a mean of three students is
--                       close to telling each one's score)

-- name: course_statistics
-- Enrolled students, mean and median current score, score distribution and missing rate per course.
-- Suppressed (fewer than min_group students, see the header): every figure NULL.
SELECT
    c.id AS course_id,
    c.name AS course,
    c.course_code,
    CASE WHEN NOT small.suppressed THEN f.enrolled END AS enrolled,
    CASE WHEN NOT small.suppressed THEN f.mean_score END AS mean_score,
    CASE WHEN NOT small.suppressed THEN f.median_score END AS median_score,
    CASE WHEN NOT small.suppressed THEN f.score_distribution END AS score_distribution,
    CASE WHEN NOT small.suppressed THEN f.missing END AS missing,
    CASE WHEN NOT small.suppressed THEN f.due END AS due,
    CASE WHEN NOT small.suppressed THEN f.missing_rate END AS missing_rate,
    small.suppressed
FROM canvas.courses AS c
JOIN canvas.course_figures(
    CASE WHEN NULLIF(:'course_id'::text, '') IS NOT NULL
         THEN ARRAY[NULLIF(:'course_id'::text, '')::bigint] END
) AS f ON f.course_id = c.id
CROSS JOIN LATERAL (
    SELECT f.enrolled < coalesce(NULLIF(:'min_group'::text, '')::integer,
                                 reports.min_group()) AS suppressed
) AS small
WHERE c.workflow_state <> 'deleted'
  AND NOT EXISTS (
      SELECT 1
      FROM lifecycle.objects AS o
      WHERE o.kind = 'course'
        AND o.id = c.id
        AND o.status <> 'active'
  )
ORDER BY c.name, c.id;
