-- Course statistics: how a course is doing as a whole.
--
-- Run:   psql -X -v ON_ERROR_STOP=1 -v course_id=42 -f sql/reports/course_statistics.sql
-- Takes: -v course_id=ID   one course; empty (course_id=) for every course
-- The variable must be given (psql leaves an unset :'course_id' in the text).
--
-- Per course (deleted courses and courses marked missing in layer 0 are left out):
--   enrolled            active student enrollments, one per student (the test student,
--                       inactive enrollments and enrollments marked missing left out)
--   mean_score          mean of their Canvas current scores (%), 2 decimals
--   median_score        median of the same (percentile_cont(0.5)), 2 decimals
--   score_distribution  students per band of current score: A >= 90, B >= 80, C >= 70,
--                       D >= 60, F below 60, none (no current score yet)
--   missing_rate        missing submissions / due submissions of those students, 4
--                       decimals: due when the student's due date is at or before the
--                       course's clock (the latest activity of any of its active
--                       students, else now) or Canvas marked it missing; excused work
--                       and assignments not graded, omitted or unpublished left out
-- The course snapshot a sync records (sql/history/snapshots.sql) holds the same
-- figures: keep the two in step.

-- name: course_statistics
-- Enrolled students, mean and median current score, score distribution and missing rate per course.
WITH courses AS (
    SELECT
        c.id,
        c.name,
        c.course_code
    FROM canvas.courses AS c
    WHERE c.workflow_state <> 'deleted'
      AND (NULLIF(:'course_id'::text, '') IS NULL OR c.id = NULLIF(:'course_id'::text, '')::bigint)
      AND NOT EXISTS (
          SELECT 1
          FROM lifecycle.objects AS o
          WHERE o.kind = 'course'
            AND o.id = c.id
            AND o.status <> 'active'
      )
),
students AS (
    SELECT
        e.user_id,
        e.course_id,
        (array_agg(e.current_score ORDER BY e.id))[1] AS current_score,
        max(e.last_activity_at) AS last_activity_at
    FROM canvas.active_students AS e
    WHERE e.course_id IN (SELECT id FROM courses)
    GROUP BY e.user_id, e.course_id
),
clocks AS (
    SELECT
        st.course_id,
        least(coalesce(max(st.last_activity_at), now()), now()) AS clock
    FROM students AS st
    GROUP BY st.course_id
),
work AS (
    SELECT
        s.course_id,
        count(*) FILTER (
            WHERE coalesce(s.cached_due_date, a.due_at) <= k.clock
               OR coalesce(s.missing, false)
               OR s.late_policy_status IS NOT DISTINCT FROM 'missing'
        ) AS due,
        count(*) FILTER (
            WHERE coalesce(s.missing, false)
               OR s.late_policy_status IS NOT DISTINCT FROM 'missing'
        ) AS missing
    FROM canvas.submissions AS s
    JOIN students AS st ON st.user_id = s.user_id AND st.course_id = s.course_id
    JOIN clocks AS k ON k.course_id = s.course_id
    JOIN canvas.graded_assignments AS a ON a.id = s.assignment_id
    WHERE (NULLIF(:'course_id'::text, '') IS NULL OR s.course_id = NULLIF(:'course_id'::text, '')::bigint)
      AND s.excused IS NOT TRUE
    GROUP BY s.course_id
),
scores AS (
    SELECT
        st.course_id,
        count(*) AS enrolled,
        round(avg(st.current_score), 2) AS mean_score,
        round((percentile_cont(0.5) WITHIN GROUP (ORDER BY st.current_score))::numeric, 2) AS median_score,
        jsonb_build_object(
            'A', count(*) FILTER (WHERE st.current_score >= 90),
            'B', count(*) FILTER (WHERE st.current_score >= 80 AND st.current_score < 90),
            'C', count(*) FILTER (WHERE st.current_score >= 70 AND st.current_score < 80),
            'D', count(*) FILTER (WHERE st.current_score >= 60 AND st.current_score < 70),
            'F', count(*) FILTER (WHERE st.current_score < 60),
            'none', count(*) FILTER (WHERE st.current_score IS NULL)
        ) AS score_distribution
    FROM students AS st
    GROUP BY st.course_id
)
SELECT
    c.id AS course_id,
    c.name AS course,
    c.course_code,
    coalesce(sc.enrolled, 0)::integer AS enrolled,
    sc.mean_score,
    sc.median_score,
    coalesce(sc.score_distribution,
             '{"A": 0, "B": 0, "C": 0, "D": 0, "F": 0, "none": 0}'::jsonb) AS score_distribution,
    coalesce(w.missing, 0) AS missing,
    coalesce(w.due, 0) AS due,
    round(w.missing::numeric / NULLIF(w.due, 0), 4) AS missing_rate
FROM courses AS c
LEFT JOIN scores AS sc ON sc.course_id = c.id
LEFT JOIN work AS w ON w.course_id = c.id
ORDER BY c.name, c.id;
