-- The rollback of 0024_course_figures_per_student (run by its restore()): give
-- canvas.course_figures back the text 0011_rules gave it (0024 counts each student's
-- due and missing work before each course's). Its columns are unchanged, so CREATE OR
-- REPLACE does.

CREATE OR REPLACE FUNCTION canvas.course_figures(course_ids bigint[])
RETURNS TABLE (
    course_id bigint,
    enrolled integer,
    mean_score numeric,
    median_score numeric,
    score_distribution jsonb,
    missing bigint,
    due bigint,
    missing_rate numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
WITH students AS (
    SELECT
        sc.user_id,
        sc.course_id,
        sc.current_score,
        sc.last_activity_at
    FROM canvas.student_courses AS sc
    WHERE course_ids IS NULL OR sc.course_id = ANY(course_ids)
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
    WHERE (course_ids IS NULL OR s.course_id = ANY(course_ids))
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
    c.id,
    coalesce(sc.enrolled, 0)::integer,
    sc.mean_score,
    sc.median_score,
    coalesce(sc.score_distribution,
             '{"A": 0, "B": 0, "C": 0, "D": 0, "F": 0, "none": 0}'::jsonb),
    coalesce(w.missing, 0),
    coalesce(w.due, 0),
    round(w.missing::numeric / NULLIF(w.due, 0), 4)
FROM canvas.courses AS c
LEFT JOIN scores AS sc ON sc.course_id = c.id
LEFT JOIN work AS w ON w.course_id = c.id
WHERE course_ids IS NULL OR c.id = ANY(course_ids)
$$;
