DROP VIEW canvas.graded_assignments;
DROP VIEW canvas.active_students;
DROP STATISTICS canvas.submissions_user_course;
DROP INDEX canvas.enrollments_active_students_idx;
DROP INDEX canvas.submissions_course_idx;
CREATE INDEX submissions_course_idx ON canvas.submissions (course_id);
DROP INDEX history.enrollment_grades_recorded_idx;
DROP INDEX canvas.submissions_graded_at_idx;
DROP INDEX canvas.submissions_submitted_at_idx;
