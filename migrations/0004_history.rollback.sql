DROP TABLE history.risk_assessments;
DROP TABLE history.course_snapshots;
DROP TABLE history.submission_scores;
DROP TABLE history.enrollment_grades;
DROP FUNCTION history.refuse_change();
