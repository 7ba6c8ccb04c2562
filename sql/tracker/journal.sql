-- The sync journal: runs, their counts and status.

-- name: lock_course
-- Take the advisory lock of one course's syncs until the transaction ends; false when
-- another sync holds it.
SELECT pg_try_advisory_xact_lock(hashtextextended('tracker.sync.course.' || :'course_id'::bigint, 0));

-- name: wait_for_course
-- Take the advisory lock of one course's syncs, waiting for the sync that holds it.
SELECT pg_advisory_xact_lock(hashtextextended('tracker.sync.course.' || :'course_id'::bigint, 0));

-- name: start_run
-- Open a run in the journal; returns its id.
INSERT INTO tracker.sync_runs (kind, source, scope_course_ids)
VALUES (:'kind'::text, :'source'::text, :'scope_course_ids'::bigint[])
RETURNING sync_id;

-- name: finish_run
-- Close a run that succeeded, with its per-table counts.
UPDATE tracker.sync_runs
SET status = 'succeeded',
    finished_at = clock_timestamp(),
    counts = :'counts'::jsonb
WHERE sync_id = :'sync_id'::bigint;

-- name: record_failed_run
-- Journal a run that failed (its own transaction was rolled back), with its error.
INSERT INTO tracker.sync_runs (kind, source, scope_course_ids, status, started_at, finished_at, error)
VALUES (:'kind'::text, :'source'::text, :'scope_course_ids'::bigint[], 'failed',
        :'started_at'::timestamptz, clock_timestamp(), :'error'::text)
RETURNING sync_id;

-- name: get_run
-- One run of the journal.
SELECT sync_id, kind, source, scope_course_ids, status, started_at, finished_at, counts, error, undone_at
FROM tracker.sync_runs
WHERE sync_id = :'sync_id'::bigint;

-- name: latest_succeeded_run
-- The newest run that succeeded and was not undone.
SELECT sync_id
FROM tracker.sync_runs
WHERE status = 'succeeded'
ORDER BY sync_id DESC
LIMIT 1;

-- name: list_runs
-- The newest runs, newest first.
SELECT sync_id, kind, source, scope_course_ids, status, started_at, finished_at, counts, error, undone_at
FROM tracker.sync_runs
ORDER BY sync_id DESC
LIMIT :'limit'::integer;

-- name: mark_undone
-- Record that a run was undone.
UPDATE tracker.sync_runs
SET status = 'undone',
    undone_at = clock_timestamp()
WHERE sync_id = :'sync_id'::bigint;
