DROP VIEW reports.score_history;
DROP VIEW reports.student_standing;
DROP VIEW reports.active_students;
DROP VIEW reports.latest_risk;
DROP SCHEMA reports;
