-- Layer 2 (schema history): time series made by sync. Append-only: a row is added
-- only when a value changed, and never updated.
--
-- How append-only is enforced: a trigger on every table refuses UPDATE, DELETE and
-- TRUNCATE unless the transaction has declared one of the two paths allowed to
-- remove rows, with SET LOCAL tracker.history_write = 'archive' (retention and
-- approved cleanup, which first copy the rows into the archive) or = 'undo' (undoing
-- a sync removes exactly the rows that sync appended). Nothing ever UPDATEs a row.
-- The setting is a guard against accidents, not a security boundary: grants
-- (sql/admin/roles.sql) are the fence. No role may UPDATE or TRUNCATE history; only
-- the owner and tracker_sync (for undo) may DELETE. Foreign keys to layer 1 (checked
-- at the end of each statement) keep a Canvas row from vanishing while history
-- still refers to it.
-- depends: 0003_canvas

CREATE FUNCTION history.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR TG_OP = 'TRUNCATE' THEN
        IF current_setting('tracker.history_write', true) IN ('archive', 'undo') THEN
            RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD END;
        END IF;
    END IF;
    RAISE EXCEPTION 'history.% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'History rows are removed only by archiving or by undoing a sync '
                     '(tracker lifecycle cleanup, tracker sync undo).';
END;
$$;

CREATE TABLE history.enrollment_grades (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    enrollment_id          bigint NOT NULL REFERENCES canvas.enrollments (id),
    course_id              bigint NOT NULL,
    user_id                bigint NOT NULL,
    sync_id                bigint NOT NULL,
    recorded_at            timestamptz NOT NULL,
    current_score          numeric,
    final_score            numeric,
    current_grade          text,
    final_grade            text,
    unposted_current_score numeric,
    unposted_final_score   numeric,
    override_score         numeric
);
CREATE INDEX enrollment_grades_enrollment_idx ON history.enrollment_grades (enrollment_id, recorded_at);
CREATE INDEX enrollment_grades_user_idx ON history.enrollment_grades (user_id, course_id, recorded_at);
CREATE INDEX enrollment_grades_course_idx ON history.enrollment_grades (course_id, recorded_at);

CREATE TABLE history.submission_scores (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    submission_id   bigint NOT NULL REFERENCES canvas.submissions (id),
    course_id       bigint NOT NULL,
    assignment_id   bigint NOT NULL,
    user_id         bigint,
    sync_id         bigint NOT NULL,
    recorded_at     timestamptz NOT NULL,
    score           numeric,
    grade           text,
    excused         boolean,
    workflow_state  text NOT NULL,
    late            boolean,
    missing         boolean,
    graded_at       timestamptz
);
CREATE INDEX submission_scores_submission_idx ON history.submission_scores (submission_id, recorded_at);
CREATE INDEX submission_scores_user_idx ON history.submission_scores (user_id, course_id, recorded_at);
CREATE INDEX submission_scores_course_idx ON history.submission_scores (course_id, recorded_at);

CREATE TABLE history.course_snapshots (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    course_id          bigint NOT NULL REFERENCES canvas.courses (id),
    sync_id            bigint,
    recorded_at        timestamptz NOT NULL,
    enrolled_students  integer NOT NULL,
    mean_score         numeric,
    median_score       numeric,
    missing_rate       numeric CHECK (missing_rate BETWEEN 0 AND 1),
    score_distribution jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX course_snapshots_course_idx ON history.course_snapshots (course_id, recorded_at);

CREATE TABLE history.risk_assessments (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES canvas.users (id),
    course_id     bigint REFERENCES canvas.courses (id),  -- null: across all courses
    assessed_at   timestamptz NOT NULL DEFAULT now(),
    score         numeric NOT NULL CHECK (score BETWEEN 0 AND 1),
    category      text NOT NULL CHECK (category IN ('low', 'medium', 'high', 'critical')),
    confidence    numeric CHECK (confidence BETWEEN 0 AND 1),
    factors       jsonb NOT NULL DEFAULT '{}',
    model_version text NOT NULL
);
CREATE INDEX risk_assessments_user_idx ON history.risk_assessments (user_id, course_id, assessed_at);
CREATE INDEX risk_assessments_course_idx ON history.risk_assessments (course_id, assessed_at);

CREATE TRIGGER enrollment_grades_append_only BEFORE UPDATE OR DELETE ON history.enrollment_grades
    FOR EACH ROW EXECUTE FUNCTION history.refuse_change();
CREATE TRIGGER enrollment_grades_no_truncate BEFORE TRUNCATE ON history.enrollment_grades
    FOR EACH STATEMENT EXECUTE FUNCTION history.refuse_change();
CREATE TRIGGER submission_scores_append_only BEFORE UPDATE OR DELETE ON history.submission_scores
    FOR EACH ROW EXECUTE FUNCTION history.refuse_change();
CREATE TRIGGER submission_scores_no_truncate BEFORE TRUNCATE ON history.submission_scores
    FOR EACH STATEMENT EXECUTE FUNCTION history.refuse_change();
CREATE TRIGGER course_snapshots_append_only BEFORE UPDATE OR DELETE ON history.course_snapshots
    FOR EACH ROW EXECUTE FUNCTION history.refuse_change();
CREATE TRIGGER course_snapshots_no_truncate BEFORE TRUNCATE ON history.course_snapshots
    FOR EACH STATEMENT EXECUTE FUNCTION history.refuse_change();
CREATE TRIGGER risk_assessments_append_only BEFORE UPDATE OR DELETE ON history.risk_assessments
    FOR EACH ROW EXECUTE FUNCTION history.refuse_change();
CREATE TRIGGER risk_assessments_no_truncate BEFORE TRUNCATE ON history.risk_assessments
    FOR EACH STATEMENT EXECUTE FUNCTION history.refuse_change();
