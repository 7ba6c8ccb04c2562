-- Bulk loads into an empty table: its secondary indexes (migration 0021_bulk_load) and,
-- where asked, its foreign keys (0022_bulk_load_keys) dropped before, made again after.
-- Every statement runs inside the load's transaction.

-- name: defer_indexes
-- Drop the indexes of :'table' that no constraint owns, if the table is empty, owned by
-- this role and used by no other session; their definitions (NULL: nothing was done).
SELECT tracker.defer_indexes(:'table'::regclass) AS definitions;

-- name: defer_foreign_keys
-- Drop the foreign keys of :'table', under the same conditions and when no other session
-- uses a table they reference (migration 0022_bulk_load_keys); the statements that add
-- them again (NULL: nothing was done).
SELECT tracker.defer_foreign_keys(:'table'::regclass) AS definitions;

-- name: build_indexes
-- Make again the indexes that defer_indexes dropped, or the foreign keys that
-- defer_foreign_keys dropped (each checked over the whole table as it is added).
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
