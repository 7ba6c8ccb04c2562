-- Missing work: every submission Canvas marks missing, per student.
--
-- Run:   psql -X -v ON_ERROR_STOP=1 -v course_id=42 -v user_id= -f sql/reports/missing_work.sql
-- Takes: -v course_id=ID   one course; empty (course_id=) for every course
--        -v user_id=ID     one student; empty (user_id=) for every student
-- Both variables must be given (psql leaves an unset :'name' in the text); an empty
-- value means "no filter".
--
-- Missing: Canvas's missing flag, or a teacher's late policy status 'missing'; excused
-- work is never missing. A missing submission may carry a score (a zero from the
-- missing-submission policy). Left out: the test student, enrollments that are not
-- active, enrollments and assignments marked missing in layer 0, assignments that are
-- not graded, omitted from the final grade or unpublished.

-- name: missing_work
-- Missing submissions of active students, by course, student and due date.
SELECT
    s.user_id,
    u.name AS student,
    u.sis_user_id,
    s.course_id,
    c.name AS course,
    s.assignment_id,
    a.name AS assignment,
    coalesce(s.cached_due_date, a.due_at) AS due_at,
    a.points_possible,
    s.score,
    s.workflow_state,
    s.late_policy_status,
    s.id AS submission_id
FROM canvas.submissions AS s
JOIN canvas.graded_assignments AS a ON a.id = s.assignment_id
JOIN canvas.users AS u ON u.id = s.user_id
JOIN canvas.courses AS c ON c.id = s.course_id
WHERE (NULLIF(:'course_id'::text, '') IS NULL OR s.course_id = NULLIF(:'course_id'::text, '')::bigint)
  AND (NULLIF(:'user_id'::text, '') IS NULL OR s.user_id = NULLIF(:'user_id'::text, '')::bigint)
  AND (coalesce(s.missing, false) OR s.late_policy_status IS NOT DISTINCT FROM 'missing')
  AND s.excused IS NOT TRUE
  AND EXISTS (
      SELECT 1
      FROM canvas.active_students AS e
      WHERE e.user_id = s.user_id
        AND e.course_id = s.course_id
  )
ORDER BY c.name, s.course_id, u.sortable_name, s.user_id, due_at NULLS LAST, a.name, s.id;
