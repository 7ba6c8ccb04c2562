-- The sync journal (schema tracker): one row per sync run, and the before-images
-- of every row a sync changed, so that the sync can be reported and undone.
-- depends: 0001_schemas

CREATE TABLE tracker.sync_runs (
    sync_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text NOT NULL CHECK (kind IN ('full', 'incremental')),
    source           text NOT NULL,                    -- a bundle path or a Canvas URL (never a token)
    scope_course_ids bigint[] NOT NULL DEFAULT '{}',   -- the courses a full sync covers
    status           text NOT NULL DEFAULT 'running'
                     CHECK (status IN ('running', 'succeeded', 'failed', 'undone')),
    started_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at      timestamptz,
    counts           jsonb NOT NULL DEFAULT '{}',      -- per table: inserted, updated, unchanged, missing, reactivated, history
    error            text,
    undone_at        timestamptz,
    CHECK ((status = 'undone') = (undone_at IS NOT NULL)),
    CHECK (status = 'running' OR finished_at IS NOT NULL)
);

COMMENT ON TABLE tracker.sync_runs IS
    'One row per sync run: kind, scope, timings, status, per-table counts, error.';

-- Before-images: the whole row as it was before a sync updated it. A row a sync
-- inserted has none (it carries that sync_id and no before-image, so undo deletes it).
CREATE TABLE tracker.sync_changes (
    sync_id  bigint NOT NULL REFERENCES tracker.sync_runs (sync_id),
    relation text NOT NULL,             -- 'canvas.submissions', 'lifecycle.objects', ...
    kind     text NOT NULL DEFAULT '',  -- lifecycle.objects' kind; '' for layer 1 tables
    row_id   bigint NOT NULL,
    before   jsonb NOT NULL,
    PRIMARY KEY (sync_id, relation, kind, row_id)
);

CREATE INDEX sync_changes_row_idx ON tracker.sync_changes (relation, kind, row_id);

COMMENT ON TABLE tracker.sync_changes IS
    'Before-images of the rows each sync updated, for undo and for the change report.';

-- Canvas ids: a JSON number, a numeric string, or a shard-prefixed string "1~123"
-- (shard 1, local id 123) normalized to the global id shard * 10^13 + local id.
-- Anything else fails the cast with the offending text in the message.
CREATE FUNCTION tracker.canvas_id(value jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN jsonb_typeof(value) = 'number' THEN (value #>> '{}')::bigint
    WHEN jsonb_typeof(value) = 'string' AND (value #>> '{}') ~ '^-?[0-9]{1,19}$'
        THEN (value #>> '{}')::bigint
    WHEN jsonb_typeof(value) = 'string' AND (value #>> '{}') ~ '^[0-9]{1,6}~[0-9]{1,13}$'
        THEN split_part(value #>> '{}', '~', 1)::bigint * 10000000000000
           + split_part(value #>> '{}', '~', 2)::bigint
    WHEN jsonb_typeof(value) IN ('string', 'boolean', 'array', 'object')
        THEN ('not a Canvas id: ' || (value #>> '{}'))::bigint
END;

COMMENT ON FUNCTION tracker.canvas_id(jsonb) IS
    'A Canvas id (number, numeric string or "shard~local") as a global 64-bit id.';

-- Canvas timestamps: ISO 8601 with a zone (2026-09-01T08:00:00Z, …-06:00). PostgreSQL
-- alone would also take 'yesterday' or a time with no zone: refuse those here. STABLE
-- (as the cast is) and written with LIKE so that PostgreSQL inlines it: a regular
-- expression or an IMMUTABLE label would cost a function call per value.
CREATE FUNCTION tracker.canvas_time(value text) RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE
    WHEN value IS NULL THEN NULL
    WHEN value LIKE '____-__-__T__:__%'
     AND (value LIKE '%Z' OR value LIKE '%+__:__' OR value LIKE '%-__:__'
          OR value LIKE '%+____' OR value LIKE '%-____')
        THEN value::timestamptz
    ELSE ('not a Canvas timestamp: ' || value)::timestamptz
END;

-- Canvas booleans are JSON true or false; PostgreSQL alone would also take 'yes' or 1.
CREATE FUNCTION tracker.canvas_bool(value jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN value IS NULL OR jsonb_typeof(value) = 'null' THEN NULL
    WHEN jsonb_typeof(value) = 'boolean' THEN (value #>> '{}')::boolean
    ELSE ('not a Canvas boolean: ' || (value #>> '{}'))::boolean
END;

-- Canvas string arrays (submission_types): a JSON array of strings as text[].
CREATE FUNCTION tracker.canvas_text_array(value jsonb) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE
    WHEN value IS NULL OR jsonb_typeof(value) = 'null' THEN NULL
    WHEN jsonb_typeof(value) = 'array' THEN ARRAY(SELECT jsonb_array_elements_text(value))
    ELSE ('not a JSON array: ' || value::text)::text[]
END;
