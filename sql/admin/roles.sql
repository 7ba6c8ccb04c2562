-- Roles and grants for tracker: three group roles that enforce the layers.
--
--   tracker_readonly  reads every layer, the sync journal and the views for BI tools
--                     (schema reports); writes nothing.
--   tracker_sync      the sync: writes canvas, lifecycle and the journal (tracker),
--                     appends to history (and deletes there only to undo a sync);
--                     reads userdata and never writes it.
--   tracker_app       the application: writes userdata (what people wrote) and
--                     appends risk assessments to history; reads everything else.
--
-- All three read the archive (schema archive: what approved cleanup and retention
-- moved out) and the views of schema reports (migration 0018_reports_views, what a BI
-- tool connects to); none writes them. Cleanup, restore, retention and `tracker check --fix`
-- move rows between layers and run as the owner.
--
-- Run it after the migrations, once per database, as a superuser or as the role
-- that owns the schemas (the one that runs migrations; it also needs CREATEROLE):
--
--   psql -X -v ON_ERROR_STOP=1 -d DBNAME -f sql/admin/roles.sql
--
-- It takes no variables. Running it again is safe (roles are created only when
-- missing; grants are repeated), also at the same time for several databases of
-- one server. Tables that later migrations add get the same grants through
-- default privileges; run the file again after migrations anyway, it costs nothing.
--
-- The group roles cannot log in. Give a person or a service a login role that is
-- a member of one of them:
--
--   CREATE ROLE alice LOGIN PASSWORD '…' IN ROLE tracker_readonly;
--   CREATE ROLE tracker_sync_job LOGIN PASSWORD '…' IN ROLE tracker_sync;
--   GRANT tracker_app TO webapp;         -- an existing login role
--
-- Two fences keep history append-only: these grants (no role here may UPDATE or
-- TRUNCATE a history table), and the trigger history.refuse_change, which refuses
-- UPDATE always and DELETE unless the transaction declared
-- SET LOCAL tracker.history_write = 'undo' (or 'archive').
--
-- Each statement below sits under its own name line, so that tracker's SQL-file
-- loader reads this file too; psql takes those lines for the comments they are.


-- Roles (cluster-wide: created once per server) -----------------------------------

-- name: create_role_tracker_readonly
-- Create the read-only group role unless it exists (another run may create it at the same moment).
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'tracker_readonly') THEN
        CREATE ROLE tracker_readonly NOLOGIN;
        COMMENT ON ROLE tracker_readonly IS
            'tracker: reads canvas, history, userdata, lifecycle and tracker; writes nothing.';
    END IF;
EXCEPTION
    -- a concurrent run created it between our check and our CREATE ROLE
    WHEN duplicate_object OR unique_violation THEN
        NULL;
END
$$;

-- name: create_role_tracker_sync
-- Create the sync's group role unless it exists.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'tracker_sync') THEN
        CREATE ROLE tracker_sync NOLOGIN;
        COMMENT ON ROLE tracker_sync IS
            'tracker: the sync; writes canvas, lifecycle and tracker, appends to history, never writes userdata.';
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN
        NULL;
END
$$;

-- name: create_role_tracker_app
-- Create the application's group role unless it exists.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'tracker_app') THEN
        CREATE ROLE tracker_app NOLOGIN;
        COMMENT ON ROLE tracker_app IS
            'tracker: the application; writes userdata and history.risk_assessments, reads the rest.';
    END IF;
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN
        NULL;
END
$$;


-- This database and its schemas ----------------------------------------------------

-- name: grant_connect_on_database
-- Let the roles connect to this database (and the sync create its temporary staging tables),
-- also where CONNECT and TEMPORARY have been revoked from PUBLIC.
DO $$
BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO tracker_readonly, tracker_sync, tracker_app',
                   current_database());
    EXECUTE format('GRANT TEMPORARY ON DATABASE %I TO tracker_sync', current_database());
END
$$;

-- name: revoke_create_on_schemas_from_public
-- Nobody but the schemas' owner creates objects in the layers.
REVOKE CREATE ON SCHEMA canvas, history, userdata, lifecycle, tracker, archive, reports FROM PUBLIC;

-- name: grant_usage_on_schemas
-- All three roles may look into every layer (what they may do there follows).
GRANT USAGE ON SCHEMA canvas, history, userdata, lifecycle, tracker, archive, reports
    TO tracker_readonly, tracker_sync, tracker_app;


-- Reading: everyone reads everything -----------------------------------------------

-- name: grant_select_on_all_tables
-- SELECT on every table and view of the schemas, for the three roles.
GRANT SELECT ON ALL TABLES IN SCHEMA canvas, history, userdata, lifecycle, tracker, archive, reports
    TO tracker_readonly, tracker_sync, tracker_app;


-- tracker_sync ----------------------------------------------------------------------

-- name: grant_sync_writes_canvas_lifecycle_journal
-- The sync replaces Canvas objects, keeps their lifecycle and journals its runs.
GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA canvas, lifecycle, tracker
    TO tracker_sync;

-- name: grant_sync_appends_history
-- The sync appends history rows; DELETE serves only undo, which the trigger also checks.
GRANT INSERT, DELETE ON ALL TABLES IN SCHEMA history
    TO tracker_sync;

-- name: grant_sync_uses_sequences
-- Identity columns and sequences of the schemas the sync writes.
GRANT USAGE ON ALL SEQUENCES IN SCHEMA canvas, history, lifecycle, tracker
    TO tracker_sync;


-- name: grant_sync_refreshes_statistics
-- The sync analyzes the tables it wrote much of, which it does not own: through this
-- function, which runs ANALYZE as their owner and for those tables alone.
GRANT EXECUTE ON FUNCTION tracker.refresh_statistics(regclass, bigint) TO tracker_sync;

-- tracker_app -----------------------------------------------------------------------

-- name: grant_app_writes_userdata
-- The application keeps what people wrote: notes, tags, custom fields, curricula.
GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA userdata
    TO tracker_app;

-- name: keep_audit_log_read_only_for_app
-- The audit trigger writes audit_log with its owner's rights (SECURITY DEFINER), so the
-- app needs no write privilege there: it can neither forge nor erase what the log says.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON userdata.audit_log FROM tracker_app;

-- name: grant_app_uses_userdata_sequences
-- Identity columns and sequences of userdata.
GRANT USAGE ON ALL SEQUENCES IN SCHEMA userdata
    TO tracker_app;

-- name: grant_app_appends_risk_assessments
-- Analytics run by the application record their risk assessments.
GRANT INSERT ON history.risk_assessments
    TO tracker_app;


-- Fences: take back what these roles must never hold, should it have been granted by hand

-- name: fence_readonly_writes_nothing
-- tracker_readonly changes no table of any layer.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
    ON ALL TABLES IN SCHEMA canvas, history, userdata, lifecycle, tracker, archive, reports
    FROM tracker_readonly;

-- name: fence_sync_out_of_userdata
-- tracker_sync holds no write privilege of any kind in userdata: sync never touches it.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
    ON ALL TABLES IN SCHEMA userdata
    FROM tracker_sync;

-- name: fence_app_out_of_canvas_lifecycle_journal
-- tracker_app writes no Canvas object, lifecycle row or journal row.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
    ON ALL TABLES IN SCHEMA canvas, lifecycle, tracker
    FROM tracker_app;

-- name: fence_history_append_only
-- Nobody here updates or truncates history; only the sync deletes there (to undo a sync).
REVOKE UPDATE, TRUNCATE, REFERENCES, TRIGGER
    ON ALL TABLES IN SCHEMA history
    FROM tracker_readonly, tracker_sync, tracker_app;

-- name: fence_app_deletes_no_history
-- tracker_app appends risk assessments but deletes no history.
REVOKE DELETE ON ALL TABLES IN SCHEMA history FROM tracker_app;


-- Tables and sequences that later migrations create ---------------------------------

-- name: grant_on_future_tables_and_sequences
-- The same grants for objects created later by the roles that own the schemas and their
-- tables (whoever runs the migrations): default privileges, set for each such owner.
DO $$
DECLARE
    owner_name name;
BEGIN
    FOR owner_name IN
        SELECT pg_catalog.pg_get_userbyid(nsp.nspowner)
        FROM pg_catalog.pg_namespace AS nsp
        WHERE nsp.nspname IN ('canvas', 'history', 'userdata', 'lifecycle', 'tracker', 'archive', 'reports')
        UNION
        SELECT pg_catalog.pg_get_userbyid(rel.relowner)
        FROM pg_catalog.pg_class AS rel
        JOIN pg_catalog.pg_namespace AS nsp ON nsp.oid = rel.relnamespace
        WHERE nsp.nspname IN ('canvas', 'history', 'userdata', 'lifecycle', 'tracker', 'archive', 'reports')
          AND rel.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
    LOOP
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA canvas, history, userdata, lifecycle, tracker, archive, reports '
            'GRANT SELECT ON TABLES TO tracker_readonly, tracker_sync, tracker_app', owner_name);
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA canvas, lifecycle, tracker '
            'GRANT INSERT, UPDATE, DELETE ON TABLES TO tracker_sync', owner_name);
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA history '
            'GRANT INSERT, DELETE ON TABLES TO tracker_sync', owner_name);
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA canvas, history, lifecycle, tracker '
            'GRANT USAGE ON SEQUENCES TO tracker_sync', owner_name);
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA userdata '
            'GRANT INSERT, UPDATE, DELETE ON TABLES TO tracker_app', owner_name);
        EXECUTE format(
            'ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA userdata '
            'GRANT USAGE ON SEQUENCES TO tracker_app', owner_name);
    END LOOP;
END
$$;
