-- Layer 0 during a sync: record what it saw for the first time, reactivate what
-- came back, and (full syncs only) mark missing what its scope no longer has.
-- Status changes keep their before-images in tracker.sync_changes for undo.

-- name: collect_seen_shared
-- Remember which terms or users this sync saw (they belong to no course).
-- allow stage: pg_temp.stage_terms, pg_temp.stage_users
INSERT INTO pg_temp.seen (kind, id, course_id)
SELECT :'kind'::text, s.id, NULL
FROM :"stage" AS s;

-- name: collect_seen_courses
-- Remember which courses this sync saw (each its own course).
INSERT INTO pg_temp.seen (kind, id, course_id)
SELECT 'course', s.id, s.id
FROM pg_temp.stage_courses AS s;

-- name: collect_seen_in_courses
-- Remember which objects of one kind within courses this sync saw, with their course.
-- allow stage: pg_temp.stage_sections, pg_temp.stage_assignment_groups, pg_temp.stage_assignments, pg_temp.stage_enrollments
INSERT INTO pg_temp.seen (kind, id, course_id)
SELECT :'kind'::text, s.id, (s.rec).course_id
FROM :"stage" AS s;

-- name: collect_seen_known
-- Remember which objects of one kind this sync saw unchanged (known by their digest).
-- allow known: pg_temp.known_terms, pg_temp.known_courses, pg_temp.known_sections, pg_temp.known_users, pg_temp.known_assignment_groups, pg_temp.known_assignments, pg_temp.known_enrollments
INSERT INTO pg_temp.seen (kind, id, course_id)
SELECT :'kind'::text, k.id, k.course_id
FROM :"known" AS k;

-- name: record_first_seen
-- A lifecycle row for every object seen for the first time.
INSERT INTO lifecycle.objects (kind, id, course_id, first_seen_sync_id, first_seen_at)
SELECT s.kind, s.id, s.course_id, :'sync_id'::bigint, now()
FROM pg_temp.seen AS s
ON CONFLICT (kind, id) DO NOTHING;

-- name: find_returned
-- Objects seen again that were missing, pending deletion or deleted: they become active.
INSERT INTO pg_temp.lifecycle_changes (kind, id, status)
SELECT o.kind, o.id, 'active'
FROM lifecycle.objects AS o
JOIN pg_temp.seen AS s ON s.kind = o.kind AND s.id = o.id
WHERE o.status <> 'active';

-- name: find_missing
-- Full sync: active objects of the scope's courses that the sync did not see, of the
-- kinds whose file the bundle has (courses themselves only when the scope named them).
-- Terms and users are shared across courses and are never marked missing by a course sync.
INSERT INTO pg_temp.lifecycle_changes (kind, id, status)
SELECT o.kind, o.id, 'missing'
FROM lifecycle.objects AS o
WHERE o.status = 'active'
  AND o.kind = ANY(:'kinds'::text[])
  AND o.kind NOT IN ('term', 'user')
  AND (o.kind <> 'course' OR :'courses_named'::boolean)
  AND o.course_id = ANY(:'scope_course_ids'::bigint[])
  AND NOT EXISTS (SELECT 1 FROM pg_temp.seen AS s WHERE s.kind = o.kind AND s.id = o.id);

-- name: save_lifecycle_before_images
-- Keep the lifecycle rows about to change, for undo.
INSERT INTO tracker.sync_changes (sync_id, relation, kind, row_id, before)
SELECT :'sync_id'::bigint, 'lifecycle.objects', o.kind, o.id, to_jsonb(o)
FROM lifecycle.objects AS o
JOIN pg_temp.lifecycle_changes AS c ON c.kind = o.kind AND c.id = o.id;

-- name: apply_lifecycle_changes
-- Mark missing, or reactivate (clearing any approval of a deletion that no longer applies).
UPDATE lifecycle.objects AS o
SET status                = c.status,
    missing_since_sync_id = CASE WHEN c.status = 'missing' THEN :'sync_id'::bigint END,
    missing_since         = CASE WHEN c.status = 'missing' THEN now() END,
    approved_by           = NULL,
    approved_at           = NULL,
    deleted_at            = NULL
FROM pg_temp.lifecycle_changes AS c
WHERE c.kind = o.kind
  AND c.id = o.id;

-- name: lifecycle_counts
-- How many objects of each kind this sync marked missing and reactivated.
SELECT kind,
       count(*) FILTER (WHERE status = 'missing') AS missing,
       count(*) FILTER (WHERE status = 'active')  AS reactivated
FROM pg_temp.lifecycle_changes
GROUP BY kind;

-- name: restore_lifecycle
-- Undo: put back the lifecycle rows one sync changed.
UPDATE lifecycle.objects AS o
SET (status, missing_since_sync_id, missing_since, approved_by, approved_at, deleted_at)
  = (b.status, b.missing_since_sync_id, b.missing_since, b.approved_by, b.approved_at, b.deleted_at)
FROM tracker.sync_changes AS c
CROSS JOIN LATERAL jsonb_populate_record(NULL::lifecycle.objects, c.before) AS b
WHERE c.sync_id = :'sync_id'::bigint
  AND c.relation = 'lifecycle.objects'
  AND o.kind = c.kind
  AND o.id = c.row_id;

-- name: delete_first_seen
-- Undo: forget the objects one sync saw for the first time.
DELETE FROM lifecycle.objects
WHERE first_seen_sync_id = :'sync_id'::bigint;

-- name: courses_with_changes
-- The courses in which this sync wrote new or changed rows (with
-- courses_with_lifecycle_changes: only their statistics can have moved).
SELECT DISTINCT course_id
FROM (
    SELECT s.id FROM pg_temp.stage_courses AS s WHERE s.changed
    UNION ALL
    SELECT (s.rec).course_id FROM pg_temp.stage_sections AS s WHERE s.changed
    UNION ALL
    SELECT (s.rec).course_id FROM pg_temp.stage_assignment_groups AS s WHERE s.changed
    UNION ALL
    SELECT (s.rec).course_id FROM pg_temp.stage_assignments AS s WHERE s.changed
    UNION ALL
    SELECT (s.rec).course_id FROM pg_temp.stage_enrollments AS s WHERE s.changed
    UNION ALL
    SELECT (s.rec).course_id FROM pg_temp.stage_submissions AS s WHERE s.changed
) AS touched (course_id)
WHERE course_id IS NOT NULL;

-- name: courses_with_lifecycle_changes
-- The courses whose objects this sync marked missing or back.
SELECT DISTINCT o.course_id
FROM lifecycle.objects AS o
JOIN pg_temp.lifecycle_changes AS c ON c.kind = o.kind AND c.id = o.id
WHERE o.course_id IS NOT NULL;
