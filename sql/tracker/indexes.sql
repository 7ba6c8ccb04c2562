-- Bulk loads into an empty table: its secondary indexes dropped before, built after
-- (migration 0021_bulk_load). Both statements run inside the load's transaction.

-- name: defer_indexes
-- Drop the indexes of :'table' that no constraint owns, if the table is empty, owned by
-- this role and used by no other session; their definitions (NULL: nothing was done).
SELECT tracker.defer_indexes(:'table'::regclass) AS definitions;

-- name: build_indexes
-- Make again the indexes that defer_indexes dropped.
SELECT tracker.build_indexes(:'definitions'::text[]);

-- name: share_loaded_tables
-- Before a sync stages anything: share the tables a first sync may be filling with their
-- indexes dropped (it holds them ACCESS EXCLUSIVE until it ends). NOWAIT: an error at
-- once (lock_not_available) rather than a sync that hangs behind it.
LOCK TABLE canvas.submissions, history.submission_scores, lifecycle.objects
    IN ACCESS SHARE MODE NOWAIT;

-- name: wait_for_loaded_tables
-- The same, waiting for the first sync that is filling them to end.
LOCK TABLE canvas.submissions, history.submission_scores, lifecycle.objects
    IN ACCESS SHARE MODE;
