-- Rules: a course's figures.
--
-- canvas.course_figures(course_ids): the figures of the course statistics report
-- (sql/reports/course_statistics.sql) and of the course snapshot each sync records in
-- layer 2 (sql/history/snapshots.sql). Per course of course_ids (NULL: every course),
-- whatever its state (the report leaves out deleted courses and courses marked missing
-- in layer 0):
--   enrolled            active students (canvas.student_courses)
--   mean_score          mean of their Canvas current scores (%), 2 decimals
--   median_score        median of the same (percentile_cont(0.5)), 2 decimals
--   score_distribution  students per band of current score: A >= 90, B >= 80, C >= 70,
--                       D >= 60, F below 60, none (no current score yet)
--   missing, due        missing and due submissions of those students: due when the
--                       student's due date is at or before the course's clock (the
--                       latest activity of any of its active students, else now) or
--                       Canvas marked it missing; excused work left out, and
--                       assignments that do not count (canvas.graded_assignments)
--   missing_rate        missing / due, 4 decimals
-- A SQL function of one SELECT, STABLE: PostgreSQL inlines it into the query that calls
-- it, so a constant course_ids reaches the scans beneath as if written there.
--
-- Applied by migration 0011_rules with the other files of sql/rules (tracker/rules.py).

-- name: course_figures
-- Enrolled students, scores and missing work per course.
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
    -- Per student first, then per course. Grouped apart, the submissions' join with
    -- their assignments is planned for all of them (a hash of the assignments), not for
    -- the few rows their join with students (a CTE: no statistics) was estimated to
    -- leave, with an index probe a submission: every course's figures at 1,000 courses
    -- and 1,000,000 submissions took 1.6 s, now 0.4 (migration
    -- 0024_course_figures_per_student, PostgreSQL 15).
    SELECT
        per.course_id,
        sum(per.due)::bigint AS due,
        sum(per.missing)::bigint AS missing
    FROM (
        SELECT
            s.course_id,
            s.user_id,
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
        JOIN clocks AS k ON k.course_id = s.course_id
        JOIN canvas.graded_assignments AS a ON a.id = s.assignment_id
        WHERE (course_ids IS NULL OR s.course_id = ANY(course_ids))
          AND s.excused IS NOT TRUE
        GROUP BY s.course_id, s.user_id
    ) AS per
    JOIN students AS st ON st.user_id = per.user_id AND st.course_id = per.course_id
    GROUP BY per.course_id
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

-- name: describe_course_figures
-- Its comment.
COMMENT ON FUNCTION canvas.course_figures(bigint[]) IS
    'Enrolled students, mean and median current score, score distribution and missing work of each course of course_ids (NULL: every course).';
