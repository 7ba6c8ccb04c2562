-- The rollback of 0013_outcomes (run by its restore()): drop what it added. It left
-- canvas.student_work and canvas.student_risk as 0011_rules made them.

DROP FUNCTION canvas.student_factors_as_of(bigint[], integer);

DROP FUNCTION canvas.enrollment_outcomes(text[], numeric, boolean);
