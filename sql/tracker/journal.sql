-- The sync journal: runs, their counts and status.

-- name: busy_courses
-- Take the advisory locks of these courses' syncs until the transaction ends, and return
-- those another sync holds (none: every lock is ours).
SELECT c.course_id
FROM unnest(:'course_ids'::bigint[]) AS c (course_id)
WHERE NOT pg_try_advisory_xact_lock(hashtextextended('tracker.sync.course.' || c.course_id, 0))
ORDER BY c.course_id;

-- name: wait_for_courses
-- Take the advisory locks of these courses' syncs, waiting for the syncs that hold them;
-- in course-id order, so that two callers never wait for each other.
SELECT count(pg_advisory_xact_lock(hashtextextended('tracker.sync.course.' || ordered.course_id, 0)))
FROM (
    SELECT DISTINCT c.course_id
    FROM unnest(:'course_ids'::bigint[]) AS c (course_id)
    ORDER BY c.course_id
) AS ordered;

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

-- name: record_watermarks
-- Keep, for a live sync, each course's watermark: Canvas's clock when it was fetched.
INSERT INTO tracker.fetch_watermarks (sync_id, course_id, canvas_time)
SELECT :'sync_id'::bigint, w.course_id, w.canvas_time
FROM unnest(:'course_ids'::bigint[], :'canvas_times'::timestamptz[]) AS w (course_id, canvas_time);

-- name: watermarks
-- Per course, the newest watermark of a succeeded (not undone) live sync from this Canvas.
SELECT DISTINCT ON (w.course_id) w.course_id, w.canvas_time
FROM tracker.fetch_watermarks AS w
JOIN tracker.sync_runs AS r USING (sync_id)
WHERE r.status = 'succeeded'
  AND r.source = :'source'::text
ORDER BY w.course_id, w.canvas_time DESC;
