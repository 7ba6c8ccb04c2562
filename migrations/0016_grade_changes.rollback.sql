DELETE FROM archive.retention_policies WHERE relation = 'history.grade_changes';
ALTER TABLE archive.retention_policies DROP CONSTRAINT retention_policies_relation_check;
ALTER TABLE archive.retention_policies ADD CONSTRAINT retention_policies_relation_check
    CHECK (relation IN ('history.enrollment_grades', 'history.submission_scores',
                        'history.course_snapshots', 'history.risk_assessments'));
DROP TABLE history.grade_changes;
