-- Layer 2's scores and grades keep their submission and enrollment by a statement
-- trigger on the layer 1 table instead of a foreign key. A foreign key made every row
-- appended lock the row it names (FOR KEY SHARE): a write-ahead log record per row and,
-- after each checkpoint, a full-page image of every page of canvas.submissions so
-- locked. Measured at 750,000 submissions (PostgreSQL 15): a first sync's history
-- appended with 1,073 MB of WAL, 455 MB without the key, and 4.7 s of its 8.8 s were the
-- key's checks. What the key refused, the triggers refuse the same way (SQLSTATE 23503,
-- the key's name): deleting or truncating a layer 1 row that history names. The rows
-- are appended by the sync from the layer 1 rows of the same transaction, so they always
-- name a row; tracker maintenance integrity (check_orphan_history) finds any that does
-- not.
-- depends: 0018_reports_views

ALTER TABLE history.submission_scores DROP CONSTRAINT submission_scores_submission_id_fkey;
ALTER TABLE history.enrollment_grades DROP CONSTRAINT enrollment_grades_enrollment_id_fkey;

-- Arguments: the history table, its column naming the layer 1 row, the name of the key.
CREATE FUNCTION history.keep_named_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    named bigint;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        EXECUTE format('SELECT %I FROM %s LIMIT 1', TG_ARGV[1], TG_ARGV[0]) INTO named;
    ELSE
        EXECUTE format('SELECT h.%I FROM %s AS h JOIN gone AS g ON g.id = h.%I LIMIT 1',
                       TG_ARGV[1], TG_ARGV[0], TG_ARGV[1]) INTO named;
    END IF;
    IF named IS NOT NULL THEN
        RAISE EXCEPTION '% on table %.% refused: % still names id %', TG_OP, TG_TABLE_SCHEMA,
                        TG_TABLE_NAME, TG_ARGV[0], named
            USING ERRCODE = 'foreign_key_violation', CONSTRAINT = TG_ARGV[2],
                  HINT = 'History keeps what it names: tracker lifecycle cleanup archives both.';
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER submissions_kept_by_scores AFTER DELETE ON canvas.submissions
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION history.keep_named_rows('history.submission_scores', 'submission_id',
                                             'submission_scores_submission_id_fkey');
CREATE TRIGGER submissions_truncate_kept_by_scores BEFORE TRUNCATE ON canvas.submissions
    FOR EACH STATEMENT
    EXECUTE FUNCTION history.keep_named_rows('history.submission_scores', 'submission_id',
                                             'submission_scores_submission_id_fkey');
CREATE TRIGGER enrollments_kept_by_grades AFTER DELETE ON canvas.enrollments
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION history.keep_named_rows('history.enrollment_grades', 'enrollment_id',
                                             'enrollment_grades_enrollment_id_fkey');
CREATE TRIGGER enrollments_truncate_kept_by_grades BEFORE TRUNCATE ON canvas.enrollments
    FOR EACH STATEMENT
    EXECUTE FUNCTION history.keep_named_rows('history.enrollment_grades', 'enrollment_id',
                                             'enrollment_grades_enrollment_id_fkey');
