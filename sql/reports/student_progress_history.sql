-- Student progress history: a student's course grades as each sync recorded them.
--
-- Run:   psql -X -v ON_ERROR_STOP=1 -v user_id=7 -v course_id= -f sql/reports/student_progress_history.sql
-- Takes: -v user_id=ID     one student; empty (user_id=) for every student
--        -v course_id=ID   one course; empty (course_id=) for every course
-- Both variables must be given (psql leaves an unset :'name' in the text); an empty
-- value means "no filter".
--
-- From layer 2 (history.enrollment_grades): a row is recorded only when an
-- enrollment's grades changed, so each row is a step of the student's progress;
-- change is the current score's difference from the step before (null at the first).
-- Left out: the test student, enrollments that are not active or are marked missing
-- in layer 0.

-- name: student_progress_history
-- Each recorded change of a student's course grades, oldest first, with the change in current score.
SELECT
    h.user_id,
    u.name AS student,
    h.course_id,
    c.name AS course,
    h.recorded_at,
    h.sync_id,
    h.current_score,
    h.current_score - lag(h.current_score) OVER (
        PARTITION BY h.enrollment_id ORDER BY h.recorded_at, h.id
    ) AS change,
    h.current_grade,
    h.final_score,
    h.final_grade,
    h.enrollment_id
FROM history.enrollment_grades AS h
JOIN canvas.active_students AS e ON e.id = h.enrollment_id
JOIN canvas.users AS u ON u.id = h.user_id
JOIN canvas.courses AS c ON c.id = h.course_id
WHERE (NULLIF(:'user_id'::text, '') IS NULL OR h.user_id = NULLIF(:'user_id'::text, '')::bigint)
  AND (NULLIF(:'course_id'::text, '') IS NULL OR h.course_id = NULLIF(:'course_id'::text, '')::bigint)
ORDER BY u.sortable_name, h.user_id, c.name, h.course_id, h.recorded_at, h.id;
