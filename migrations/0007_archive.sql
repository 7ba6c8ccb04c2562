-- The archive (schema archive): rows taken out of layers 1, 2 and 3 by approved
-- cleanup, by retention or by an integrity repair, each kept whole as JSON so that
-- nothing a person wrote or a sync recorded is ever silently dropped, and so that
-- `tracker lifecycle restore` can put a cleanup back.
--
-- Also: the retention policy of layer 2, the synonyms tag names are normalized
-- through (userdata.tag_synonyms), two indexes that let a person read back the audit
-- trail of one row or one subject, and tracker.statement_stats (pg_stat_statements,
-- when installed, for tracker monitor top).
--
-- The archive is a schema of its own, not part of lifecycle: the sync role writes
-- lifecycle, and must not be able to delete what was archived. Only the owner (who
-- runs migrations, cleanup, retention and repairs) writes here.
-- depends: 0006_lifecycle

CREATE SCHEMA archive;

COMMENT ON SCHEMA archive IS
    'Rows removed from canvas, history and userdata by cleanup, retention or repair, kept whole as JSON.';

-- One row per operation that archived rows.
CREATE TABLE archive.runs (
    run_id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('cleanup', 'retention', 'repair')),
    performed_by text NOT NULL CHECK (performed_by <> ''),
    performed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    reason       text,
    objects      jsonb NOT NULL DEFAULT '[]',  -- cleanup: the lifecycle objects it deleted, [{kind, id}]
    counts       jsonb NOT NULL DEFAULT '{}',  -- rows archived per relation
    restored_by  text,
    restored_at  timestamptz,
    CHECK ((restored_by IS NULL) = (restored_at IS NULL)),
    CHECK (kind = 'cleanup' OR restored_at IS NULL)
);

COMMENT ON TABLE archive.runs IS
    'One row per cleanup, retention run or repair: who, when, why, what it archived, whether it was restored.';

-- Each archived row whole, as to_jsonb() gave it. row_id is the row's primary key as
-- text (its columns joined with '|' for composite keys). context holds what a restore
-- needs beyond the row itself (the name of a tag or curriculum the row referred to).
CREATE TABLE archive.rows (
    run_id      bigint NOT NULL REFERENCES archive.runs (run_id),
    relation    text NOT NULL,                 -- 'canvas.courses', 'history.enrollment_grades', ...
    row_id      text NOT NULL,
    object_kind text,                          -- cleanup: the lifecycle object the row went with
    object_id   bigint,
    row_data    jsonb NOT NULL,
    context     jsonb NOT NULL DEFAULT '{}',
    archived_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (run_id, relation, row_id)
);
CREATE INDEX rows_relation_idx ON archive.rows (relation, row_id);
CREATE INDEX rows_object_idx ON archive.rows (object_kind, object_id);

COMMENT ON TABLE archive.rows IS
    'Archived rows, each whole as JSON (restore re-inserts them with jsonb_populate_record).';

-- How long layer 2 keeps its rows before retention archives them. A table without a
-- policy keeps its rows forever; the newest row of each series is always kept.
CREATE TABLE archive.retention_policies (
    relation   text PRIMARY KEY CHECK (relation IN
                   ('history.enrollment_grades', 'history.submission_scores',
                    'history.course_snapshots', 'history.risk_assessments')),
    keep       interval NOT NULL CHECK (keep > interval '0'),
    updated_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE archive.retention_policies IS
    'Per history table: rows older than keep are archived by tracker maintenance retention.';

-- Tag synonyms: a tag name (normalized) that stands for another. Attaching "AtRisk"
-- attaches "at risk" when the list says so; merging tags adds the merged names here.
CREATE TABLE userdata.tag_synonyms (
    alias      text PRIMARY KEY CHECK (alias <> '' AND alias = btrim(alias)),
    canonical  text NOT NULL CHECK (canonical <> '' AND canonical = btrim(canonical)),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (alias <> canonical)
);
CREATE INDEX tag_synonyms_canonical_idx ON userdata.tag_synonyms (canonical);

CREATE TRIGGER tag_synonyms_audit AFTER INSERT OR UPDATE OR DELETE ON userdata.tag_synonyms
    FOR EACH ROW EXECUTE FUNCTION userdata.record_change();

-- Reading the audit trail back: by a row's id (notes, tags, curricula) and by subject
-- (notes, custom fields and tag links about one student, course or assignment).
CREATE INDEX audit_log_row_idx ON userdata.audit_log
    (relation, (coalesce(new_row, old_row) ->> 'id'));
CREATE INDEX audit_log_subject_idx ON userdata.audit_log
    ((coalesce(new_row, old_row) ->> 'subject_type'), (coalesce(new_row, old_row) ->> 'subject_id'),
     changed_at);

-- The heaviest statements of this database, from pg_stat_statements when the extension
-- is there (tracker monitor top). PL/pgSQL resolves the view when called, not here, so
-- this exists whether or not the extension is installed; calling it without the
-- extension raises undefined_table (or object_not_in_prerequisite_state when it is
-- installed but not loaded at server start).
CREATE FUNCTION tracker.statement_stats(max_rows integer)
RETURNS TABLE (queryid bigint, query text, calls bigint, total_ms numeric, mean_ms numeric,
               max_ms numeric, rows_returned bigint, blocks bigint, blocks_read bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN QUERY
    SELECT s.queryid,
           s.query,
           s.calls,
           round(s.total_exec_time::numeric, 3),
           round(s.mean_exec_time::numeric, 3),
           round(s.max_exec_time::numeric, 3),
           s.rows,
           s.shared_blks_hit + s.shared_blks_read,
           s.shared_blks_read
    FROM pg_stat_statements AS s
    WHERE s.dbid = (SELECT d.oid FROM pg_database AS d WHERE d.datname = current_database())
    ORDER BY s.total_exec_time DESC
    LIMIT max_rows;
END;
$$;

COMMENT ON FUNCTION tracker.statement_stats(integer) IS
    'The statements of this database with the most total execution time, from pg_stat_statements.';
