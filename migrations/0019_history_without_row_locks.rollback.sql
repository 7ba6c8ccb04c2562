DROP TRIGGER enrollments_truncate_kept_by_grades ON canvas.enrollments;
DROP TRIGGER enrollments_kept_by_grades ON canvas.enrollments;
DROP TRIGGER submissions_truncate_kept_by_scores ON canvas.submissions;
DROP TRIGGER submissions_kept_by_scores ON canvas.submissions;
DROP FUNCTION history.keep_named_rows();
ALTER TABLE history.enrollment_grades
    ADD CONSTRAINT enrollment_grades_enrollment_id_fkey
    FOREIGN KEY (enrollment_id) REFERENCES canvas.enrollments (id);
ALTER TABLE history.submission_scores
    ADD CONSTRAINT submission_scores_submission_id_fkey
    FOREIGN KEY (submission_id) REFERENCES canvas.submissions (id);
