-- The heaviest statements this database ran, from pg_stat_statements. Needs the
-- extension: in postgresql.conf, shared_preload_libraries = 'pg_stat_statements'
-- (restart the server), then in this database CREATE EXTENSION pg_stat_statements.
-- Query texts are as pg_stat_statements normalized them: values are $1, $2, …
-- (The query itself is the function tracker.statement_stats, migration 0007, so that
-- this file is valid SQL whether or not the extension is installed.)
--
--   psql -X -v ON_ERROR_STOP=1 -v limit=20 -f sql/maintenance/statements.sql

-- name: top_statements
-- The statements of this database with the most total execution time.
SELECT s.queryid, s.query, s.calls, s.total_ms, s.mean_ms, s.max_ms, s.rows_returned AS rows,
       s.blocks, s.blocks_read
FROM tracker.statement_stats(:'limit'::integer) AS s;
