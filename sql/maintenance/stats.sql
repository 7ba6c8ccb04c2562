-- How big tracker's data is and how fresh: each table's rows and sizes, the syncs by
-- status, each course's last successful sync and its age, and what syncs appended to
-- layer 2 a day. Read-only and cheap (catalog sizes, the planner's row estimates, the
-- journal), so it runs as often as a monitoring job likes, on a read replica too.
--
--   psql -X -v ON_ERROR_STOP=1 -v stale_after='2 days' -v days=14 -f sql/maintenance/stats.sql

-- name: table_stats
-- Every table of tracker's schemas: its live rows as the server's statistics count them
-- (on a replica, which keeps no such count: the planner's estimate as of the last VACUUM
-- or ANALYZE, null before any), its heap, index and total sizes.
SELECT n.nspname AS schema_name,
       c.relname AS table_name,
       CASE WHEN NOT pg_is_in_recovery() THEN pg_stat_get_live_tuples(c.oid)
            WHEN c.reltuples >= 0 THEN c.reltuples::bigint
       END AS rows_estimated,
       pg_table_size(c.oid) AS table_bytes,
       pg_indexes_size(c.oid) AS index_bytes,
       pg_total_relation_size(c.oid) AS total_bytes
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relkind = 'r'
  AND n.nspname IN ('canvas', 'history', 'userdata', 'lifecycle', 'tracker', 'archive')
ORDER BY schema_name, table_name;

-- name: syncs_by_status
-- How many runs the journal holds in each status (every status, zero included), and
-- when the latest of each started.
SELECT s.status,
       count(r.sync_id) AS runs,
       max(r.started_at) AS latest_started_at
FROM unnest(ARRAY['running', 'succeeded', 'failed', 'undone']) AS s (status)
LEFT JOIN tracker.sync_runs AS r ON r.status = s.status
GROUP BY s.status
ORDER BY s.status;

-- name: course_freshness
-- Each course of layer 1: its last successful sync (succeeded, not undone), when it
-- finished and how long ago. A course is watched when it still exists in Canvas
-- (active in layer 0) and is not concluded or deleted there; a watched course is stale
-- when no sync finished with it within stale_after.
WITH last_success AS (
    SELECT DISTINCT ON (scope.course_id)
           scope.course_id, r.sync_id, r.finished_at
    FROM tracker.sync_runs AS r
    CROSS JOIN LATERAL unnest(r.scope_course_ids) AS scope (course_id)
    WHERE r.status = 'succeeded'
    ORDER BY scope.course_id, r.finished_at DESC
)
SELECT c.id AS course_id,
       c.name AS course_name,
       last_success.sync_id AS last_sync_id,
       last_success.finished_at AS last_synced_at,
       extract(epoch FROM now() - last_success.finished_at)::double precision AS age_seconds,
       watched.is_watched AS watched,
       watched.is_watched
         AND (last_success.finished_at IS NULL
              OR last_success.finished_at < now() - :'stale_after'::interval) AS stale
FROM canvas.courses AS c
LEFT JOIN lifecycle.objects AS o
       ON o.kind = 'course'
      AND o.id = c.id
LEFT JOIN last_success
       ON last_success.course_id = c.id
CROSS JOIN LATERAL (
    SELECT coalesce(o.status, 'active') = 'active'
           AND c.workflow_state NOT IN ('completed', 'deleted') AS is_watched
) AS watched
ORDER BY c.id;

-- name: history_growth
-- The rows each day's successful syncs appended to layer 2, per kind of object they
-- counted them under (a sync's counts: enrollments' grades and risk assessments,
-- submissions' scores, courses' snapshots, the Grade Change Log), over the last
-- days days (UTC), newest first. Days with no sync are absent.
SELECT (r.finished_at AT TIME ZONE 'UTC')::date AS day,
       counted.kind,
       sum((counted.figures ->> 'history')::bigint)::bigint AS rows_appended
FROM tracker.sync_runs AS r
CROSS JOIN LATERAL jsonb_each(r.counts) AS counted (kind, figures)
WHERE r.status = 'succeeded'
  AND r.finished_at >= ((now() AT TIME ZONE 'UTC')::date - :'days'::integer + 1)::timestamp
                       AT TIME ZONE 'UTC'
  AND counted.figures ? 'history'
GROUP BY day, counted.kind
ORDER BY day DESC, counted.kind;
