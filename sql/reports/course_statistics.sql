-- Course statistics: how a course is doing as a whole.
--
-- Run:   psql -X -v ON_ERROR_STOP=1 -v course_id=42 -f sql/reports/course_statistics.sql
-- Takes: -v course_id=ID   one course; empty (course_id=) for every course
-- The variable must be given (psql leaves an unset :'course_id' in the text).
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

-- name: course_statistics
-- Enrolled students, mean and median current score, score distribution and missing rate per course.
SELECT
    c.id AS course_id,
    c.name AS course,
    c.course_code,
    f.enrolled,
    f.mean_score,
    f.median_score,
    f.score_distribution,
    f.missing,
    f.due,
    f.missing_rate
FROM canvas.courses AS c
JOIN canvas.course_figures(
    CASE WHEN NULLIF(:'course_id'::text, '') IS NOT NULL
         THEN ARRAY[NULLIF(:'course_id'::text, '')::bigint] END
) AS f ON f.course_id = c.id
WHERE c.workflow_state <> 'deleted'
  AND NOT EXISTS (
      SELECT 1
      FROM lifecycle.objects AS o
      WHERE o.kind = 'course'
        AND o.id = c.id
        AND o.status <> 'active'
  )
ORDER BY c.name, c.id;
