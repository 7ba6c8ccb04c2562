-- Rules: who is an active student of a course.
--
-- canvas.active_students: the student enrollments that count, one row each: active, not
-- the test student, not marked missing in layer 0. Every report and analytic reads it
-- instead of spelling the conditions out; the planner reads through it to the partial
-- index enrollments_active_students_idx (migration 0008_query_indexes).
--
-- canvas.student_courses: one row per active student and course (a student enrolled in
-- two sections of a course has two enrollments): the Canvas current score of the first
-- enrollment (by id) and the latest activity of any. A view: a condition on course_id or
-- user_id reaches the enrollments beneath.
--
-- Applied by migration 0011_rules with the other files of sql/rules (tracker/rules.py).

-- name: active_students
-- The active student enrollments.
CREATE OR REPLACE VIEW canvas.active_students AS
SELECT
    e.id,
    e.user_id,
    e.course_id,
    e.course_section_id,
    e.role,
    e.current_score,
    e.final_score,
    e.current_grade,
    e.final_grade,
    e.last_activity_at,
    e.sync_id
FROM canvas.enrollments AS e
WHERE e.type = 'StudentEnrollment'
  AND e.enrollment_state = 'active'
  AND NOT e.is_test_student
  AND NOT EXISTS (
      SELECT 1
      FROM lifecycle.objects AS o
      WHERE o.kind = 'enrollment'
        AND o.id = e.id
        AND o.status <> 'active'
  );

-- name: describe_active_students
-- Its comment.
COMMENT ON VIEW canvas.active_students IS
    'Active student enrollments: not the test student, not marked missing in layer 0.';

-- name: student_courses
-- One row per active student and course.
CREATE OR REPLACE VIEW canvas.student_courses AS
SELECT
    e.user_id,
    e.course_id,
    (array_agg(e.current_score ORDER BY e.id))[1] AS current_score,
    max(e.last_activity_at) AS last_activity_at
FROM canvas.active_students AS e
GROUP BY e.user_id, e.course_id;

-- name: describe_student_courses
-- Its comment.
COMMENT ON VIEW canvas.student_courses IS
    'One row per active student and course: the current score of the first enrollment (by id), the latest activity of any.';
