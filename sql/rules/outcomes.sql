-- Rules: how a student's enrollment in a completed course ended (issue 15: the outcomes
-- the risk model is measured and learned against).
--
-- canvas.enrollment_outcomes(failing_grades, pass_mark, withdrawn_ok): one row per
-- student enrollment of a completed course. A function, not a view, because the rule
-- takes options (grading schemes differ); its defaults make canvas.enrollment_outcomes()
-- read like a view. A SQL function of one SELECT, STABLE: PostgreSQL inlines it, so a
-- condition on course_id reaches the scans beneath.
--
-- A completed course: its workflow_state is 'completed', or its end (the course's
-- end_at, else its term's) is past; not a deleted one. Its student enrollments: type
-- StudentEnrollment (never the test student, a StudentViewEnrollment) whose state is
-- active, completed, inactive or deleted (an invitation never accepted, or rejected,
-- is no enrollment to judge).
--
--   outcome    'withdrawn' when the enrollment is inactive or deleted, or Canvas no
--              longer lists it (lifecycle.objects); else 'failed' when
--                - failing_grades is given (not NULL, not empty) and it has a final
--                  grade: that grade is one of them (e.g. '{F}' or '{E,F}', exactly);
--                - otherwise: its final score is below pass_mark (default 60), or it
--                  has none (nothing graded counts as nothing earned);
--              else 'passed'.
--   failed     outcome 'failed', or 'withdrawn' unless withdrawn_ok (default false).
--
-- Applied by migration 0013_outcomes with the other files of sql/rules (tracker/rules.py).

-- name: enrollment_outcomes
-- How each student enrollment of a completed course ended: passed, failed or withdrawn.
CREATE OR REPLACE FUNCTION canvas.enrollment_outcomes(
    failing_grades text[] DEFAULT NULL,
    pass_mark numeric DEFAULT 60,
    withdrawn_ok boolean DEFAULT false
)
RETURNS TABLE (
    user_id bigint,
    course_id bigint,
    enrollment_id bigint,
    final_score numeric,
    final_grade text,
    enrollment_state text,
    outcome text,
    failed boolean
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
WITH judged AS (
    SELECT
        e.user_id,
        e.course_id,
        e.id AS enrollment_id,
        e.final_score,
        e.final_grade,
        e.enrollment_state,
        CASE
            WHEN e.enrollment_state IN ('inactive', 'deleted')
                 OR EXISTS (
                     SELECT 1
                     FROM lifecycle.objects AS o
                     WHERE o.kind = 'enrollment'
                       AND o.id = e.id
                       AND o.status <> 'active'
                 )
            THEN 'withdrawn'
            WHEN cardinality(failing_grades) > 0 AND e.final_grade IS NOT NULL
            THEN CASE WHEN e.final_grade = ANY(failing_grades) THEN 'failed' ELSE 'passed' END
            WHEN e.final_score IS NULL OR e.final_score < pass_mark
            THEN 'failed'
            ELSE 'passed'
        END AS outcome
    FROM canvas.enrollments AS e
    JOIN canvas.courses AS c ON c.id = e.course_id
    LEFT JOIN canvas.terms AS t ON t.id = c.enrollment_term_id
    WHERE e.type = 'StudentEnrollment'
      AND e.enrollment_state IN ('active', 'completed', 'inactive', 'deleted')
      AND c.workflow_state <> 'deleted'
      AND (c.workflow_state = 'completed' OR coalesce(c.end_at, t.end_at) < now())
)
SELECT
    j.user_id,
    j.course_id,
    j.enrollment_id,
    j.final_score,
    j.final_grade,
    j.enrollment_state,
    j.outcome,
    j.outcome = 'failed' OR (j.outcome = 'withdrawn' AND NOT withdrawn_ok)
FROM judged AS j
$$;

-- name: describe_enrollment_outcomes
-- Its comment.
COMMENT ON FUNCTION canvas.enrollment_outcomes(text[], numeric, boolean) IS
    'How each student enrollment of a completed course ended: passed, failed (final grade in failing_grades, else final score below pass_mark) or withdrawn (inactive, deleted, or no longer listed; failed unless withdrawn_ok).';
