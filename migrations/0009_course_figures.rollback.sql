DROP FUNCTION canvas.course_figures(bigint[]);
