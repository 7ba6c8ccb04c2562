DROP VIEW reports.score_history;
DROP SCHEMA reports;
