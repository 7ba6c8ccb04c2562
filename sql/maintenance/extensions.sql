-- Whether pg_stat_statements can report on this database.
--
--   psql -X -v ON_ERROR_STOP=1 -f sql/maintenance/extensions.sql

-- name: pg_stat_statements_status
-- Is the extension available on the server, installed in this database, and loaded at
-- server start (shared_preload_libraries)?
SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_statements') AS available,
       EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS installed,
       'pg_stat_statements' = ANY(string_to_array(
           replace(replace(current_setting('shared_preload_libraries'), ' ', ''), '"', ''), ','))
           AS preloaded;
