DROP FUNCTION canvas.student_risk(bigint[]);
ALTER TABLE history.risk_assessments DROP COLUMN sync_id;
