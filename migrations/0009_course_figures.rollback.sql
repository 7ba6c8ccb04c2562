DROP FUNCTION canvas.course_figures(bigint[]);
DROP VIEW canvas.student_courses;
