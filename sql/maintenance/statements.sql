-- The heaviest statements this database ran, from pg_stat_statements. Needs the
-- extension: in postgresql.conf, shared_preload_libraries = 'pg_stat_statements'
-- (restart the server), then in this database CREATE EXTENSION pg_stat_statements.
-- Query texts are as pg_stat_statements normalized them: values are $1, $2, …
--
--   psql -X -v ON_ERROR_STOP=1 -v limit=20 -f sql/maintenance/statements.sql

-- name: top_statements
-- The statements of this database with the most total execution time.
SELECT s.queryid,
       s.query,
       s.calls,
       round(s.total_exec_time::numeric, 3) AS total_ms,
       round(s.mean_exec_time::numeric, 3) AS mean_ms,
       round(s.max_exec_time::numeric, 3) AS max_ms,
       s.rows,
       s.shared_blks_hit + s.shared_blks_read AS blocks,
       s.shared_blks_read AS blocks_read
FROM pg_stat_statements AS s
WHERE s.dbid = (SELECT d.oid FROM pg_database AS d WHERE d.datname = current_database())
ORDER BY s.total_exec_time DESC
LIMIT :'limit'::integer;
