-- Grade changes: who changed which grade, and when, as Canvas's Grade Change Log says.
--
-- Run:   psql -X -v ON_ERROR_STOP=1 -v course_id=42 -v user_id= -f sql/reports/grade_changes.sql
-- Takes: -v course_id=ID   one course; empty (course_id=) for every course
--        -v user_id=ID     one student's changes; empty (user_id=) for every student
-- Both variables must be given (psql leaves an unset :'name' in the text); an empty
-- value means "no filter".
--
-- From layer 2 (history.grade_changes, the events a sync stored from a bundle's
-- grade_changes file), newest first. Names come from layer 1 where it has them: a
-- grader tracker never synced (a teacher of a student-only fetch) shows as "user N"; a
-- negative grader is an autograder, "autograder (quiz N)" when the assignment is that
-- quiz (its quiz_id, or an online_quiz submission type), else "autograder (tool N)"; an
-- event Canvas sent without a student (an anonymous, muted assignment) has none; a
-- final-grade override has no assignment and says so. grade is "before → after" ("–"
-- for none); excused is "before → after" only when the change excused or unexcused the
-- work. The raw values are in history.grade_changes. Every event is listed, the test
-- student's and those of objects marked missing included: it is an audit trail.

-- name: grade_changes
-- Each grade change, newest first: when, which assignment and student, who, from what to what.
SELECT
    g.created_at,
    g.course_id,
    g.assignment_id,
    CASE
        WHEN g.is_override THEN 'final grade override'
        ELSE coalesce(a.name, 'assignment ' || g.assignment_id)
    END AS assignment,
    g.student_id,
    CASE WHEN g.student_id IS NOT NULL THEN coalesce(s.name, 'user ' || g.student_id) END AS student,
    g.grader_id,
    CASE
        WHEN g.grader_id < 0 AND (a.raw ->> 'quiz_id' = (-g.grader_id)::text
                                  OR 'online_quiz' = ANY(a.submission_types))
            THEN 'autograder (quiz ' || -g.grader_id || ')'
        WHEN g.grader_id < 0 THEN 'autograder (tool ' || -g.grader_id || ')'
        ELSE coalesce(grader.name, 'user ' || g.grader_id)
    END AS grader,
    coalesce(g.grade_before, '–') || ' → ' || coalesce(g.grade_after, '–') AS grade,
    CASE
        WHEN g.excused_before IS DISTINCT FROM g.excused_after
            THEN coalesce(g.excused_before::text, '–') || ' → ' || coalesce(g.excused_after::text, '–')
    END AS excused,
    g.graded_anonymously AS anonymous,
    g.event_id
FROM history.grade_changes AS g
LEFT JOIN canvas.assignments AS a ON a.id = g.assignment_id
LEFT JOIN canvas.users AS s ON s.id = g.student_id
LEFT JOIN canvas.users AS grader ON grader.id = g.grader_id
WHERE (NULLIF(:'course_id'::text, '') IS NULL OR g.course_id = NULLIF(:'course_id'::text, '')::bigint)
  AND (NULLIF(:'user_id'::text, '') IS NULL OR g.student_id = NULLIF(:'user_id'::text, '')::bigint)
ORDER BY g.created_at DESC, g.event_id;
