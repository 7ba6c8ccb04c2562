ALTER TABLE history.risk_assessments DROP COLUMN sync_id;
