-- What the database needs to stay fast: tables that need VACUUM or ANALYZE, indexes
-- never used or duplicated, and the size of each table and index. Read-only.
--
--   psql -X -v ON_ERROR_STOP=1 -f sql/maintenance/optimize.sql
--
-- A table needs VACUUM when its dead rows pass autovacuum's own threshold (50 + 20% of
-- its live rows) and ANALYZE when rows changed since the last analyze pass 50 + 10%,
-- or when it holds rows and was never analyzed. Usage counts run since the statistics
-- were last reset (stats_since).

-- name: table_health
-- Every table of tracker's schemas: rows, dead rows, changes since analyze, last
-- vacuum and analyze, sizes, and whether it needs VACUUM or ANALYZE.
SELECT s.schemaname || '.' || s.relname AS table_name,
       s.n_live_tup AS live_rows,
       s.n_dead_tup AS dead_rows,
       s.n_mod_since_analyze AS modified_since_analyze,
       greatest(s.last_vacuum, s.last_autovacuum) AS last_vacuum,
       greatest(s.last_analyze, s.last_autoanalyze) AS last_analyze,
       pg_table_size(s.relid) AS table_bytes,
       pg_indexes_size(s.relid) AS index_bytes,
       pg_total_relation_size(s.relid) AS total_bytes,
       s.n_dead_tup > 50 + 0.2 * s.n_live_tup AS needs_vacuum,
       (s.n_mod_since_analyze > 50 + 0.1 * s.n_live_tup
        OR (s.n_live_tup > 0 AND s.last_analyze IS NULL AND s.last_autoanalyze IS NULL)) AS needs_analyze
FROM pg_stat_user_tables AS s
WHERE s.schemaname IN ('canvas', 'history', 'userdata', 'lifecycle', 'tracker', 'archive')
ORDER BY pg_total_relation_size(s.relid) DESC, table_name;

-- name: unused_indexes
-- Indexes of tracker's schemas never scanned since the statistics were reset, that
-- enforce nothing (not a primary key, unique or exclusion constraint), largest first.
SELECT s.schemaname || '.' || s.indexrelname AS index_name,
       s.schemaname || '.' || s.relname AS table_name,
       pg_relation_size(s.indexrelid) AS index_bytes,
       s.idx_scan AS scans,
       pg_get_indexdef(s.indexrelid) AS definition
FROM pg_stat_user_indexes AS s
JOIN pg_index AS i ON i.indexrelid = s.indexrelid
WHERE s.schemaname IN ('canvas', 'history', 'userdata', 'lifecycle', 'tracker', 'archive')
  AND s.idx_scan = 0
  AND NOT i.indisunique
  AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = s.indexrelid)
ORDER BY index_bytes DESC, index_name;

-- name: duplicate_indexes
-- Indexes that another index of the same table makes redundant: the same columns,
-- operator classes and predicate (a duplicate), or the leading columns of another such
-- index (a redundant prefix, for an index that enforces nothing).
WITH indexes AS (
    SELECT i.indexrelid, i.indrelid, i.indisunique, i.indisprimary,
           i.indkey::text AS columns, i.indclass::text AS classes,
           coalesce(pg_get_expr(i.indexprs, i.indrelid), '') AS expressions,
           coalesce(pg_get_expr(i.indpred, i.indrelid), '') AS predicate,
           ic.relam AS method,
           n.nspname || '.' || ic.relname AS index_name,
           n.nspname || '.' || tc.relname AS table_name
    FROM pg_index AS i
    JOIN pg_class AS ic ON ic.oid = i.indexrelid
    JOIN pg_class AS tc ON tc.oid = i.indrelid
    JOIN pg_namespace AS n ON n.oid = ic.relnamespace
    WHERE n.nspname IN ('canvas', 'history', 'userdata', 'lifecycle', 'tracker', 'archive')
)
SELECT a.index_name,
       b.index_name AS covered_by,
       a.table_name,
       CASE WHEN a.columns = b.columns THEN 'duplicate' ELSE 'redundant prefix' END AS kind,
       pg_relation_size(a.indexrelid) AS index_bytes
FROM indexes AS a
JOIN indexes AS b
  ON b.indrelid = a.indrelid
 AND b.indexrelid <> a.indexrelid
 AND b.method = a.method
 AND b.expressions = a.expressions
 AND b.predicate = a.predicate
WHERE a.expressions = ''
  AND NOT a.indisprimary
  AND (
        (a.columns = b.columns
         AND a.classes = b.classes
         AND ((a.indisunique = b.indisunique AND a.indexrelid > b.indexrelid)
              OR (b.indisunique AND NOT a.indisunique)))
     OR (NOT a.indisunique
         AND a.columns <> b.columns
         AND (b.columns || ' ') LIKE (a.columns || ' %')
         AND (b.classes || ' ') LIKE (a.classes || ' %'))
  )
ORDER BY a.table_name, a.index_name;

-- name: stats_since
-- When the usage statistics of this database were last reset (null: never since initdb).
SELECT d.stats_reset
FROM pg_stat_database AS d
WHERE d.datname = current_database();
