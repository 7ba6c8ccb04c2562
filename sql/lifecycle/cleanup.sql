-- Layer 0 after a sync: objects missing from Canvas, what depends on them, approval
-- of their deletion, cleanup into the archive and restore from it.
--
-- The work tables live in pg_temp for one transaction:
--   lc_roots      the objects asked about (pending, to approve, to clean up)
--   lc_closure    each root and every object that depends on it in layer 1, with the
--                 edge it was reached by (term > course > section, assignment group,
--                 assignment, enrollment; section > enrollment; assignment group >
--                 assignment; user > enrollment)
--   lc_dependents every row of layers 0-3 that would go with a root: its lifecycle rows,
--                 Canvas rows (submissions included), history rows and user data
--   lc_names      a readable name for each object of the closure

-- name: create_cleanup_tables
-- The temporary tables of one pending report, approval, cleanup or restore, dropped at commit.
DO $$
BEGIN
    DROP TABLE IF EXISTS pg_temp.lc_roots, pg_temp.lc_closure, pg_temp.lc_dependents,
                         pg_temp.lc_names;
    CREATE TEMP TABLE lc_roots (
        kind text NOT NULL,
        id   bigint NOT NULL,
        PRIMARY KEY (kind, id)
    ) ON COMMIT DROP;
    CREATE TEMP TABLE lc_closure (
        root_kind   text NOT NULL,
        root_id     bigint NOT NULL,
        kind        text NOT NULL,
        id          bigint NOT NULL,
        parent_kind text,
        parent_id   bigint
    ) ON COMMIT DROP;
    CREATE TEMP TABLE lc_dependents (
        root_kind text NOT NULL,
        root_id   bigint NOT NULL,
        relation  text NOT NULL,
        row_id    text NOT NULL
    ) ON COMMIT DROP;
    CREATE TEMP TABLE lc_names (
        kind text NOT NULL,
        id   bigint NOT NULL,
        name text,
        PRIMARY KEY (kind, id)
    ) ON COMMIT DROP;
END
$$;

-- name: pending_objects
-- Objects missing from Canvas for at least min_syncs full syncs of their scope or for
-- at least min_days days (either suffices; both null: every missing object), and every
-- object whose deletion was approved and awaits cleanup.
SELECT o.kind,
       o.id,
       o.course_id,
       o.status,
       o.missing_since,
       o.missing_since_sync_id,
       m.syncs_missed,
       extract(epoch FROM now() - o.missing_since) / 86400 AS days_missing,
       o.approved_by,
       o.approved_at
FROM lifecycle.objects AS o
CROSS JOIN LATERAL (
    SELECT count(*) AS syncs_missed
    FROM tracker.sync_runs AS r
    WHERE r.sync_id >= o.missing_since_sync_id
      AND r.status = 'succeeded'
      AND r.kind = 'full'
      AND (o.course_id IS NULL OR o.course_id = ANY(r.scope_course_ids))
) AS m
WHERE o.status IN ('missing', 'pending_deletion')
  AND (:'kinds'::text[] IS NULL OR o.kind = ANY(:'kinds'::text[]))
  AND (o.status = 'pending_deletion'
       OR (:'min_syncs'::integer IS NULL AND :'min_days'::numeric IS NULL)
       OR m.syncs_missed >= :'min_syncs'::integer
       OR o.missing_since <= now() - :'min_days'::numeric * interval '1 day')
ORDER BY o.missing_since, o.kind, o.id;

-- name: find_objects
-- The lifecycle rows of the given objects (kinds[i], ids[i]); a null kind matches every kind.
SELECT o.kind, o.id, o.course_id, o.status
FROM unnest(:'kinds'::text[], :'ids'::bigint[]) AS asked (kind, id)
JOIN lifecycle.objects AS o
  ON o.id = asked.id
 AND (asked.kind IS NULL OR o.kind = asked.kind)
ORDER BY o.kind, o.id;

-- name: add_roots
-- Put the given objects (kinds[i], ids[i]) among the roots.
INSERT INTO pg_temp.lc_roots (kind, id)
SELECT asked.kind, asked.id
FROM unnest(:'kinds'::text[], :'ids'::bigint[]) AS asked (kind, id)
ON CONFLICT DO NOTHING;

-- name: add_missing_roots
-- Put among the roots the missing (not yet approved) objects of the given kinds (null:
-- every kind) missing for at least older_than (null: any time).
INSERT INTO pg_temp.lc_roots (kind, id)
SELECT o.kind, o.id
FROM lifecycle.objects AS o
WHERE o.status = 'missing'
  AND (:'kinds'::text[] IS NULL OR o.kind = ANY(:'kinds'::text[]))
  AND (:'older_than'::interval IS NULL OR o.missing_since <= now() - :'older_than'::interval)
ON CONFLICT DO NOTHING;

-- name: add_approved_roots
-- Put among the roots, locked until commit, the objects approved for deletion (all of
-- them, or those given as kinds[i], ids[i]).
INSERT INTO pg_temp.lc_roots (kind, id)
SELECT o.kind, o.id
FROM lifecycle.objects AS o
WHERE o.status = 'pending_deletion'
  AND (:'ids'::bigint[] IS NULL
       OR (o.kind, o.id) IN (SELECT asked.kind, asked.id
                             FROM unnest(:'kinds'::text[], :'ids'::bigint[]) AS asked (kind, id)))
ORDER BY o.kind, o.id
FOR UPDATE OF o;

-- name: build_closure
-- Every root and every layer 1 object that depends on it, with the edge it was reached by.
INSERT INTO pg_temp.lc_closure (root_kind, root_id, kind, id, parent_kind, parent_id)
WITH RECURSIVE edges (parent_kind, parent_id, child_kind, child_id) AS (
    SELECT 'term', c.enrollment_term_id, 'course', c.id
    FROM canvas.courses AS c
    WHERE c.enrollment_term_id IS NOT NULL
    UNION ALL
    SELECT 'course', s.course_id, 'section', s.id
    FROM canvas.sections AS s
    UNION ALL
    SELECT 'course', g.course_id, 'assignment_group', g.id
    FROM canvas.assignment_groups AS g
    UNION ALL
    SELECT 'course', a.course_id, 'assignment', a.id
    FROM canvas.assignments AS a
    UNION ALL
    SELECT 'assignment_group', a.assignment_group_id, 'assignment', a.id
    FROM canvas.assignments AS a
    WHERE a.assignment_group_id IS NOT NULL
    UNION ALL
    SELECT 'course', e.course_id, 'enrollment', e.id
    FROM canvas.enrollments AS e
    UNION ALL
    SELECT 'section', e.course_section_id, 'enrollment', e.id
    FROM canvas.enrollments AS e
    WHERE e.course_section_id IS NOT NULL
    UNION ALL
    SELECT 'user', e.user_id, 'enrollment', e.id
    FROM canvas.enrollments AS e
),
closure (root_kind, root_id, kind, id, parent_kind, parent_id) AS (
    SELECT r.kind, r.id, r.kind, r.id, NULL::text, NULL::bigint
    FROM pg_temp.lc_roots AS r
    UNION
    SELECT c.root_kind, c.root_id, e.child_kind, e.child_id, e.parent_kind, e.parent_id
    FROM closure AS c
    JOIN edges AS e ON e.parent_kind = c.kind AND e.parent_id = c.id
)
SELECT root_kind, root_id, kind, id, parent_kind, parent_id
FROM closure;

-- name: closure_blockers
-- Objects in the closure of a root whose status is not among the allowed ones (for
-- cleanup: approved; for approval: missing or approved); an object without a lifecycle
-- row is 'untracked'. Each blocks its roots: they cannot go without it.
SELECT DISTINCT c.root_kind, c.root_id, c.kind, c.id, coalesce(o.status, 'untracked') AS status
FROM pg_temp.lc_closure AS c
LEFT JOIN lifecycle.objects AS o ON o.kind = c.kind AND o.id = c.id
WHERE coalesce(o.status, 'untracked') <> ALL(:'allowed'::text[])
ORDER BY c.root_kind, c.root_id, c.kind, c.id;

-- name: drop_roots
-- Leave the given roots (kinds[i], ids[i]) and their closures out.
WITH dropped AS (
    DELETE FROM pg_temp.lc_roots AS r
    USING unnest(:'kinds'::text[], :'ids'::bigint[]) AS asked (kind, id)
    WHERE r.kind = asked.kind
      AND r.id = asked.id
    RETURNING r.kind, r.id
)
DELETE FROM pg_temp.lc_closure AS c
USING dropped AS d
WHERE c.root_kind = d.kind
  AND c.root_id = d.id;

-- name: list_roots
-- The roots, in order.
SELECT kind, id
FROM pg_temp.lc_roots
ORDER BY kind, id;

-- name: closure_courses
-- The courses whose syncs could touch the closure: their advisory locks are taken first.
SELECT DISTINCT course_id
FROM (
    SELECT o.course_id
    FROM pg_temp.lc_closure AS c
    JOIN lifecycle.objects AS o ON o.kind = c.kind AND o.id = c.id
    UNION
    SELECT e.course_id
    FROM pg_temp.lc_closure AS c
    JOIN canvas.enrollments AS e ON c.kind = 'user' AND e.user_id = c.id
) AS courses
WHERE course_id IS NOT NULL
ORDER BY course_id;

-- name: lock_closure
-- Lock the lifecycle rows of the closure until commit (a sync that brings one back waits).
SELECT o.kind, o.id
FROM lifecycle.objects AS o
WHERE (o.kind, o.id) IN (SELECT c.kind, c.id FROM pg_temp.lc_closure AS c)
ORDER BY o.kind, o.id
FOR UPDATE OF o;

-- name: collect_dependents
-- Every row of layers 0 to 3 that goes with each root: the lifecycle and Canvas rows of
-- its closure, the submissions of its assignments, users and courses, their history and
-- what people wrote about them. Composite keys are written as JSON arrays.
INSERT INTO pg_temp.lc_dependents (root_kind, root_id, relation, row_id)
WITH closure AS (
    SELECT DISTINCT root_kind, root_id, kind, id
    FROM pg_temp.lc_closure
),
submissions AS (
    SELECT c.root_kind, c.root_id, s.id
    FROM closure AS c
    JOIN canvas.submissions AS s ON c.kind = 'assignment' AND s.assignment_id = c.id
    UNION
    SELECT c.root_kind, c.root_id, s.id
    FROM closure AS c
    JOIN canvas.submissions AS s ON c.kind = 'user' AND s.user_id = c.id
    UNION
    SELECT c.root_kind, c.root_id, s.id
    FROM closure AS c
    JOIN canvas.submissions AS s ON c.kind = 'course' AND s.course_id = c.id
)
SELECT c.root_kind, c.root_id, 'lifecycle.objects', jsonb_build_array(o.kind, o.id)::text
FROM closure AS c
JOIN lifecycle.objects AS o ON o.kind = c.kind AND o.id = c.id
UNION ALL
SELECT c.root_kind, c.root_id, 'canvas.terms', t.id::text
FROM closure AS c
JOIN canvas.terms AS t ON c.kind = 'term' AND t.id = c.id
UNION ALL
SELECT c.root_kind, c.root_id, 'canvas.courses', t.id::text
FROM closure AS c
JOIN canvas.courses AS t ON c.kind = 'course' AND t.id = c.id
UNION ALL
SELECT c.root_kind, c.root_id, 'canvas.sections', t.id::text
FROM closure AS c
JOIN canvas.sections AS t ON c.kind = 'section' AND t.id = c.id
UNION ALL
SELECT c.root_kind, c.root_id, 'canvas.users', t.id::text
FROM closure AS c
JOIN canvas.users AS t ON c.kind = 'user' AND t.id = c.id
UNION ALL
SELECT c.root_kind, c.root_id, 'canvas.assignment_groups', t.id::text
FROM closure AS c
JOIN canvas.assignment_groups AS t ON c.kind = 'assignment_group' AND t.id = c.id
UNION ALL
SELECT c.root_kind, c.root_id, 'canvas.assignments', t.id::text
FROM closure AS c
JOIN canvas.assignments AS t ON c.kind = 'assignment' AND t.id = c.id
UNION ALL
SELECT c.root_kind, c.root_id, 'canvas.enrollments', t.id::text
FROM closure AS c
JOIN canvas.enrollments AS t ON c.kind = 'enrollment' AND t.id = c.id
UNION ALL
SELECT s.root_kind, s.root_id, 'canvas.submissions', s.id::text
FROM submissions AS s
UNION ALL
SELECT c.root_kind, c.root_id, 'history.enrollment_grades', h.id::text
FROM closure AS c
JOIN history.enrollment_grades AS h ON c.kind = 'enrollment' AND h.enrollment_id = c.id
UNION ALL
SELECT s.root_kind, s.root_id, 'history.submission_scores', h.id::text
FROM submissions AS s
JOIN history.submission_scores AS h ON h.submission_id = s.id
UNION ALL
SELECT c.root_kind, c.root_id, 'history.course_snapshots', h.id::text
FROM closure AS c
JOIN history.course_snapshots AS h ON c.kind = 'course' AND h.course_id = c.id
UNION ALL
SELECT c.root_kind, c.root_id, 'history.risk_assessments', h.id::text
FROM closure AS c
JOIN history.risk_assessments AS h ON c.kind = 'user' AND h.user_id = c.id
UNION ALL
SELECT c.root_kind, c.root_id, 'history.risk_assessments', h.id::text
FROM closure AS c
JOIN history.risk_assessments AS h ON c.kind = 'course' AND h.course_id = c.id
UNION ALL
SELECT c.root_kind, c.root_id, 'history.grade_changes', h.id::text
FROM closure AS c
JOIN history.grade_changes AS h ON c.kind = 'course' AND h.course_id = c.id
UNION ALL
SELECT c.root_kind, c.root_id, 'userdata.notes', n.id::text
FROM closure AS c
JOIN userdata.notes AS n ON n.subject_type = c.kind AND n.subject_id = c.id
UNION ALL
SELECT c.root_kind, c.root_id, 'userdata.custom_fields',
       jsonb_build_array(f.subject_type, f.subject_id, f.name)::text
FROM closure AS c
JOIN userdata.custom_fields AS f ON f.subject_type = c.kind AND f.subject_id = c.id
UNION ALL
SELECT c.root_kind, c.root_id, 'userdata.tag_links',
       jsonb_build_array(l.tag_id, l.subject_type, l.subject_id)::text
FROM closure AS c
JOIN userdata.tag_links AS l ON l.subject_type = c.kind AND l.subject_id = c.id
UNION ALL
SELECT c.root_kind, c.root_id, 'userdata.curriculum_courses',
       jsonb_build_array(cc.curriculum_id, cc.course_id)::text
FROM closure AS c
JOIN userdata.curriculum_courses AS cc ON c.kind = 'course' AND cc.course_id = c.id;

-- name: collect_names
-- A readable name for each object of the closure (an enrollment: its student and course).
INSERT INTO pg_temp.lc_names (kind, id, name)
SELECT DISTINCT c.kind, c.id, n.name
FROM pg_temp.lc_closure AS c
LEFT JOIN LATERAL (
    SELECT t.name FROM canvas.terms AS t WHERE c.kind = 'term' AND t.id = c.id
    UNION ALL
    SELECT t.name FROM canvas.courses AS t WHERE c.kind = 'course' AND t.id = c.id
    UNION ALL
    SELECT t.name FROM canvas.sections AS t WHERE c.kind = 'section' AND t.id = c.id
    UNION ALL
    SELECT t.name FROM canvas.users AS t WHERE c.kind = 'user' AND t.id = c.id
    UNION ALL
    SELECT t.name FROM canvas.assignment_groups AS t WHERE c.kind = 'assignment_group' AND t.id = c.id
    UNION ALL
    SELECT t.name FROM canvas.assignments AS t WHERE c.kind = 'assignment' AND t.id = c.id
    UNION ALL
    SELECT concat_ws(' in ', u.name, co.name)
    FROM canvas.enrollments AS e
    LEFT JOIN canvas.users AS u ON u.id = e.user_id
    LEFT JOIN canvas.courses AS co ON co.id = e.course_id
    WHERE c.kind = 'enrollment' AND e.id = c.id
) AS n ON true
ON CONFLICT DO NOTHING;

-- name: impact_counts
-- How many rows of each relation go with each root (the root's own rows included).
SELECT d.root_kind, d.root_id, d.relation, count(DISTINCT d.row_id) AS row_count
FROM pg_temp.lc_dependents AS d
GROUP BY d.root_kind, d.root_id, d.relation
ORDER BY d.root_kind, d.root_id, d.relation;

-- name: closure_nodes
-- The objects of each root's closure with their status and name, and the edge that led
-- to each (null for the root itself): the dependency graph.
SELECT DISTINCT c.root_kind, c.root_id, c.kind, c.id, c.parent_kind, c.parent_id,
       coalesce(o.status, 'untracked') AS status, n.name
FROM pg_temp.lc_closure AS c
LEFT JOIN lifecycle.objects AS o ON o.kind = c.kind AND o.id = c.id
LEFT JOIN pg_temp.lc_names AS n ON n.kind = c.kind AND n.id = c.id
ORDER BY c.root_kind, c.root_id, c.parent_kind NULLS FIRST, c.parent_id NULLS FIRST, c.kind, c.id;

-- name: object_rows
-- How many rows of each relation are about each object of the closure itself (not its
-- descendants): the leaves of the dependency graph.
WITH closure AS (
    SELECT DISTINCT kind, id
    FROM pg_temp.lc_closure
)
SELECT c.kind, c.id, 'history.enrollment_grades' AS relation, count(*) AS row_count
FROM closure AS c
JOIN history.enrollment_grades AS h ON c.kind = 'enrollment' AND h.enrollment_id = c.id
GROUP BY c.kind, c.id
UNION ALL
SELECT c.kind, c.id, 'canvas.submissions', count(*)
FROM closure AS c
JOIN canvas.submissions AS s
  ON (c.kind = 'assignment' AND s.assignment_id = c.id)
  OR (c.kind = 'user' AND s.user_id = c.id)
GROUP BY c.kind, c.id
UNION ALL
SELECT c.kind, c.id, 'history.submission_scores', count(*)
FROM closure AS c
JOIN canvas.submissions AS s
  ON (c.kind = 'assignment' AND s.assignment_id = c.id)
  OR (c.kind = 'user' AND s.user_id = c.id)
JOIN history.submission_scores AS h ON h.submission_id = s.id
GROUP BY c.kind, c.id
UNION ALL
SELECT c.kind, c.id, 'history.course_snapshots', count(*)
FROM closure AS c
JOIN history.course_snapshots AS h ON c.kind = 'course' AND h.course_id = c.id
GROUP BY c.kind, c.id
UNION ALL
SELECT c.kind, c.id, 'history.risk_assessments', count(*)
FROM closure AS c
JOIN history.risk_assessments AS h
  ON (c.kind = 'user' AND h.user_id = c.id)
  OR (c.kind = 'course' AND h.course_id = c.id)
GROUP BY c.kind, c.id
UNION ALL
SELECT c.kind, c.id, 'history.grade_changes', count(*)
FROM closure AS c
JOIN history.grade_changes AS h ON c.kind = 'course' AND h.course_id = c.id
GROUP BY c.kind, c.id
UNION ALL
SELECT c.kind, c.id, 'userdata.notes', count(*)
FROM closure AS c
JOIN userdata.notes AS n ON n.subject_type = c.kind AND n.subject_id = c.id
GROUP BY c.kind, c.id
UNION ALL
SELECT c.kind, c.id, 'userdata.custom_fields', count(*)
FROM closure AS c
JOIN userdata.custom_fields AS f ON f.subject_type = c.kind AND f.subject_id = c.id
GROUP BY c.kind, c.id
UNION ALL
SELECT c.kind, c.id, 'userdata.tag_links', count(*)
FROM closure AS c
JOIN userdata.tag_links AS l ON l.subject_type = c.kind AND l.subject_id = c.id
GROUP BY c.kind, c.id
UNION ALL
SELECT c.kind, c.id, 'userdata.curriculum_courses', count(*)
FROM closure AS c
JOIN userdata.curriculum_courses AS cc ON c.kind = 'course' AND cc.course_id = c.id
GROUP BY c.kind, c.id
ORDER BY 1, 2, 3;

-- name: approve_closure
-- Approve the deletion of every missing object of the closure, recording who approved.
UPDATE lifecycle.objects AS o
SET status      = 'pending_deletion',
    approved_by = :'approved_by'::text,
    approved_at = now()
WHERE o.status = 'missing'
  AND (o.kind, o.id) IN (SELECT c.kind, c.id FROM pg_temp.lc_closure AS c)
RETURNING o.kind, o.id, o.course_id, o.approved_by, o.approved_at;

-- name: revoke_approval
-- Take back the approval of the given objects (kinds[i], ids[i]): they are missing again.
UPDATE lifecycle.objects AS o
SET status      = 'missing',
    approved_by = NULL,
    approved_at = NULL
FROM unnest(:'kinds'::text[], :'ids'::bigint[]) AS asked (kind, id)
WHERE o.status = 'pending_deletion'
  AND o.kind = asked.kind
  AND o.id = asked.id
RETURNING o.kind, o.id;

-- name: start_archive_run
-- Open an archive run; returns its id.
INSERT INTO archive.runs (kind, performed_by, reason, objects)
VALUES (:'kind'::text, :'performed_by'::text, :'reason'::text, :'objects'::jsonb)
RETURNING run_id;

-- name: archive_by_id
-- Copy into the archive, whole, the rows of one table (keyed by id) that go with the roots.
-- allow table: canvas.terms, canvas.courses, canvas.sections, canvas.users, canvas.assignment_groups, canvas.assignments, canvas.enrollments, canvas.submissions, history.enrollment_grades, history.submission_scores, history.course_snapshots, history.risk_assessments, history.grade_changes, userdata.notes
INSERT INTO archive.rows (run_id, relation, row_id, object_kind, object_id, row_data)
SELECT :'run_id'::bigint, :'relation'::text, d.row_id, d.root_kind, d.root_id, to_jsonb(t)
FROM (
    SELECT DISTINCT ON (row_id) row_id, root_kind, root_id
    FROM pg_temp.lc_dependents
    WHERE relation = :'relation'::text
    ORDER BY row_id, root_kind, root_id
) AS d
JOIN :"table" AS t ON t.id = d.row_id::bigint;

-- name: archive_custom_fields
-- Copy into the archive the custom fields about the closure.
INSERT INTO archive.rows (run_id, relation, row_id, object_kind, object_id, row_data)
SELECT :'run_id'::bigint, 'userdata.custom_fields', d.row_id, d.root_kind, d.root_id, to_jsonb(f)
FROM (
    SELECT DISTINCT ON (row_id) row_id, root_kind, root_id
    FROM pg_temp.lc_dependents
    WHERE relation = 'userdata.custom_fields'
    ORDER BY row_id, root_kind, root_id
) AS d
JOIN userdata.custom_fields AS f
  ON f.subject_type = d.row_id::jsonb ->> 0
 AND f.subject_id = (d.row_id::jsonb ->> 1)::bigint
 AND f.name = d.row_id::jsonb ->> 2;

-- name: archive_tag_links
-- Copy into the archive the tag links about the closure, with each tag's name (a restore
-- finds the tag by name if it was merged or removed meanwhile).
INSERT INTO archive.rows (run_id, relation, row_id, object_kind, object_id, row_data, context)
SELECT :'run_id'::bigint, 'userdata.tag_links', d.row_id, d.root_kind, d.root_id, to_jsonb(l),
       jsonb_build_object('tag_name', t.name)
FROM (
    SELECT DISTINCT ON (row_id) row_id, root_kind, root_id
    FROM pg_temp.lc_dependents
    WHERE relation = 'userdata.tag_links'
    ORDER BY row_id, root_kind, root_id
) AS d
JOIN userdata.tag_links AS l
  ON l.tag_id = (d.row_id::jsonb ->> 0)::bigint
 AND l.subject_type = d.row_id::jsonb ->> 1
 AND l.subject_id = (d.row_id::jsonb ->> 2)::bigint
JOIN userdata.tags AS t ON t.id = l.tag_id;

-- name: archive_curriculum_courses
-- Copy into the archive the curriculum memberships of the closure's courses, with each
-- curriculum's name.
INSERT INTO archive.rows (run_id, relation, row_id, object_kind, object_id, row_data, context)
SELECT :'run_id'::bigint, 'userdata.curriculum_courses', d.row_id, d.root_kind, d.root_id,
       to_jsonb(cc), jsonb_build_object('curriculum_name', cu.name)
FROM (
    SELECT DISTINCT ON (row_id) row_id, root_kind, root_id
    FROM pg_temp.lc_dependents
    WHERE relation = 'userdata.curriculum_courses'
    ORDER BY row_id, root_kind, root_id
) AS d
JOIN userdata.curriculum_courses AS cc
  ON cc.curriculum_id = (d.row_id::jsonb ->> 0)::bigint
 AND cc.course_id = (d.row_id::jsonb ->> 1)::bigint
JOIN userdata.curricula AS cu ON cu.id = cc.curriculum_id;

-- name: archive_lifecycle_rows
-- Copy into the archive the lifecycle rows of the closure as they are before cleanup.
INSERT INTO archive.rows (run_id, relation, row_id, object_kind, object_id, row_data)
SELECT :'run_id'::bigint, 'lifecycle.objects', d.row_id, d.root_kind, d.root_id, to_jsonb(o)
FROM (
    SELECT DISTINCT ON (row_id) row_id, root_kind, root_id
    FROM pg_temp.lc_dependents
    WHERE relation = 'lifecycle.objects'
    ORDER BY row_id, root_kind, root_id
) AS d
JOIN lifecycle.objects AS o
  ON o.kind = d.row_id::jsonb ->> 0
 AND o.id = (d.row_id::jsonb ->> 1)::bigint;

-- name: allow_archive
-- Declare, for this transaction only, that history rows are being removed into the archive.
SELECT set_config('tracker.history_write', 'archive', true);

-- name: set_actor
-- Who is making this transaction's changes, for the audit log of user data.
SELECT set_config('tracker.actor', :'actor'::text, true);

-- name: delete_by_id
-- Remove the rows of one table (keyed by id) that go with the roots (after archiving them).
-- allow table: canvas.terms, canvas.courses, canvas.sections, canvas.users, canvas.assignment_groups, canvas.assignments, canvas.enrollments, canvas.submissions, history.enrollment_grades, history.submission_scores, history.course_snapshots, history.risk_assessments, history.grade_changes, userdata.notes
DELETE FROM :"table" AS t
USING (
    SELECT DISTINCT row_id::bigint AS id
    FROM pg_temp.lc_dependents
    WHERE relation = :'relation'::text
) AS d
WHERE t.id = d.id;

-- name: delete_custom_fields
-- Remove the custom fields about the closure (after archiving them).
DELETE FROM userdata.custom_fields AS f
USING (
    SELECT DISTINCT row_id::jsonb AS k
    FROM pg_temp.lc_dependents
    WHERE relation = 'userdata.custom_fields'
) AS d
WHERE f.subject_type = d.k ->> 0
  AND f.subject_id = (d.k ->> 1)::bigint
  AND f.name = d.k ->> 2;

-- name: delete_tag_links
-- Remove the tag links about the closure (after archiving them).
DELETE FROM userdata.tag_links AS l
USING (
    SELECT DISTINCT row_id::jsonb AS k
    FROM pg_temp.lc_dependents
    WHERE relation = 'userdata.tag_links'
) AS d
WHERE l.tag_id = (d.k ->> 0)::bigint
  AND l.subject_type = d.k ->> 1
  AND l.subject_id = (d.k ->> 2)::bigint;

-- name: delete_curriculum_courses
-- Remove the curriculum memberships of the closure's courses (after archiving them).
DELETE FROM userdata.curriculum_courses AS cc
USING (
    SELECT DISTINCT row_id::jsonb AS k
    FROM pg_temp.lc_dependents
    WHERE relation = 'userdata.curriculum_courses'
) AS d
WHERE cc.curriculum_id = (d.k ->> 0)::bigint
  AND cc.course_id = (d.k ->> 1)::bigint;

-- name: mark_deleted
-- The closure's objects are gone from layers 1 to 3: their lifecycle rows say so.
UPDATE lifecycle.objects AS o
SET status     = 'deleted',
    deleted_at = now()
WHERE (o.kind, o.id) IN (SELECT c.kind, c.id FROM pg_temp.lc_closure AS c)
RETURNING o.kind, o.id;

-- name: finish_archive_run
-- Record what an archive run archived, per relation.
UPDATE archive.runs AS r
SET counts = coalesce((SELECT jsonb_object_agg(a.relation, a.row_count)
                       FROM (SELECT relation, count(*) AS row_count
                             FROM archive.rows
                             WHERE run_id = :'run_id'::bigint
                             GROUP BY relation) AS a), '{}'::jsonb)
WHERE r.run_id = :'run_id'::bigint
RETURNING r.counts;

-- name: get_archive_run
-- One archive run.
SELECT run_id, kind, performed_by, performed_at, reason, objects, counts, restored_by, restored_at
FROM archive.runs
WHERE run_id = :'run_id'::bigint;

-- name: list_archive_runs
-- The newest archive runs (of one kind, or all), newest first.
SELECT run_id, kind, performed_by, performed_at, reason, objects, counts, restored_by, restored_at
FROM archive.runs
WHERE :'kind'::text IS NULL OR kind = :'kind'::text
ORDER BY run_id DESC
LIMIT :'limit'::integer;

-- name: lock_archive_run
-- Lock one archive run until commit (two restores of one run never interleave).
SELECT run_id, kind, restored_at
FROM archive.runs
WHERE run_id = :'run_id'::bigint
FOR UPDATE;

-- name: run_object_courses
-- The courses a cleanup's archived lifecycle rows belonged to (their syncs are locked out
-- during a restore).
SELECT DISTINCT (a.row_data ->> 'course_id')::bigint AS course_id
FROM archive.rows AS a
WHERE a.run_id = :'run_id'::bigint
  AND a.relation = 'lifecycle.objects'
  AND a.row_data ->> 'course_id' IS NOT NULL
ORDER BY 1;

-- name: restore_by_id
-- Put back the archived rows of one table keyed by id. A row that exists again (a sync
-- brought the object back since; for a grade change, the same Canvas event) is kept as
-- it is now.
-- allow table: canvas.terms, canvas.courses, canvas.sections, canvas.users, canvas.assignment_groups, canvas.assignments, canvas.enrollments, canvas.submissions, history.enrollment_grades, history.submission_scores, history.course_snapshots, history.risk_assessments, history.grade_changes
INSERT INTO :"table"
OVERRIDING SYSTEM VALUE
SELECT r.*
FROM archive.rows AS a
CROSS JOIN LATERAL jsonb_populate_record(CAST(NULL AS :"table"), a.row_data) AS r
WHERE a.run_id = :'run_id'::bigint
  AND a.relation = :'relation'::text
ORDER BY r.id
ON CONFLICT DO NOTHING;

-- name: restore_notes
-- Put back the archived notes, with their ids (the generated subject columns follow).
INSERT INTO userdata.notes (id, subject_type, subject_id, body, author, created_at, updated_at)
OVERRIDING SYSTEM VALUE
SELECT r.id, r.subject_type, r.subject_id, r.body, r.author, r.created_at, r.updated_at
FROM archive.rows AS a
CROSS JOIN LATERAL jsonb_populate_record(NULL::userdata.notes, a.row_data) AS r
WHERE a.run_id = :'run_id'::bigint
  AND a.relation = 'userdata.notes'
ORDER BY r.id
ON CONFLICT (id) DO NOTHING;

-- name: restore_custom_fields
-- Put back the archived custom fields; a field set again since keeps its newer value
-- (the archived one stays in the archive).
INSERT INTO userdata.custom_fields (subject_type, subject_id, name, value, author, updated_at)
SELECT r.subject_type, r.subject_id, r.name, r.value, r.author, r.updated_at
FROM archive.rows AS a
CROSS JOIN LATERAL jsonb_populate_record(NULL::userdata.custom_fields, a.row_data) AS r
WHERE a.run_id = :'run_id'::bigint
  AND a.relation = 'userdata.custom_fields'
ORDER BY r.subject_type, r.subject_id, r.name
ON CONFLICT DO NOTHING;

-- name: restore_missing_tags
-- Tags the archived links need that no longer exist under their id nor (through the
-- synonyms) under their name: create them again by name.
INSERT INTO userdata.tags (name, created_by)
SELECT DISTINCT coalesce(s.canonical, a.context ->> 'tag_name'), :'actor'::text
FROM archive.rows AS a
LEFT JOIN userdata.tags AS t ON t.id = (a.row_data ->> 'tag_id')::bigint
LEFT JOIN userdata.tag_synonyms AS s ON s.alias = a.context ->> 'tag_name'
WHERE a.run_id = :'run_id'::bigint
  AND a.relation = 'userdata.tag_links'
  AND t.id IS NULL
ON CONFLICT (name) DO NOTHING;

-- name: restore_tag_links
-- Put back the archived tag links: to the same tag if it still exists, else to the tag
-- its name stands for now (it was merged or removed meanwhile).
INSERT INTO userdata.tag_links (tag_id, subject_type, subject_id, tagged_by, tagged_at)
SELECT coalesce(t.id, by_name.id), r.subject_type, r.subject_id, r.tagged_by, r.tagged_at
FROM archive.rows AS a
CROSS JOIN LATERAL jsonb_populate_record(NULL::userdata.tag_links, a.row_data) AS r
LEFT JOIN userdata.tags AS t ON t.id = r.tag_id
LEFT JOIN userdata.tag_synonyms AS s ON s.alias = a.context ->> 'tag_name'
LEFT JOIN userdata.tags AS by_name ON by_name.name = coalesce(s.canonical, a.context ->> 'tag_name')
WHERE a.run_id = :'run_id'::bigint
  AND a.relation = 'userdata.tag_links'
ORDER BY 1, 2, 3
ON CONFLICT DO NOTHING;

-- name: restore_missing_curricula
-- Curricula the archived memberships need that were removed meanwhile: create them again.
INSERT INTO userdata.curricula (name, created_by)
SELECT DISTINCT a.context ->> 'curriculum_name', :'actor'::text
FROM archive.rows AS a
LEFT JOIN userdata.curricula AS cu ON cu.id = (a.row_data ->> 'curriculum_id')::bigint
WHERE a.run_id = :'run_id'::bigint
  AND a.relation = 'userdata.curriculum_courses'
  AND cu.id IS NULL
ON CONFLICT (name) DO NOTHING;

-- name: restore_curriculum_courses
-- Put back the archived curriculum memberships (by the curriculum's name if its id is gone).
INSERT INTO userdata.curriculum_courses (curriculum_id, course_id, added_by, added_at)
SELECT coalesce(cu.id, by_name.id), r.course_id, r.added_by, r.added_at
FROM archive.rows AS a
CROSS JOIN LATERAL jsonb_populate_record(NULL::userdata.curriculum_courses, a.row_data) AS r
LEFT JOIN userdata.curricula AS cu ON cu.id = r.curriculum_id
LEFT JOIN userdata.curricula AS by_name ON by_name.name = a.context ->> 'curriculum_name'
WHERE a.run_id = :'run_id'::bigint
  AND a.relation = 'userdata.curriculum_courses'
ORDER BY 1, 2
ON CONFLICT DO NOTHING;

-- name: restore_lifecycle_rows
-- The restored objects are missing again, as before their approval (approval is not
-- restored: approve again to delete them). Objects a sync brought back since stay active.
UPDATE lifecycle.objects AS o
SET status                = 'missing',
    missing_since_sync_id = b.missing_since_sync_id,
    missing_since         = b.missing_since,
    approved_by           = NULL,
    approved_at           = NULL,
    deleted_at            = NULL
FROM archive.rows AS a
CROSS JOIN LATERAL jsonb_populate_record(NULL::lifecycle.objects, a.row_data) AS b
WHERE a.run_id = :'run_id'::bigint
  AND a.relation = 'lifecycle.objects'
  AND o.kind = b.kind
  AND o.id = b.id
  AND o.status = 'deleted'
RETURNING o.kind, o.id;

-- name: reinsert_lifecycle_rows
-- Lifecycle rows removed meanwhile (an undone sync first saw the object): put them back, missing.
INSERT INTO lifecycle.objects (kind, id, course_id, status, first_seen_sync_id, first_seen_at,
                               missing_since_sync_id, missing_since)
SELECT b.kind, b.id, b.course_id, 'missing', b.first_seen_sync_id, b.first_seen_at,
       b.missing_since_sync_id, b.missing_since
FROM archive.rows AS a
CROSS JOIN LATERAL jsonb_populate_record(NULL::lifecycle.objects, a.row_data) AS b
WHERE a.run_id = :'run_id'::bigint
  AND a.relation = 'lifecycle.objects'
  AND b.missing_since IS NOT NULL
  AND EXISTS (SELECT 1 FROM tracker.sync_runs AS r WHERE r.sync_id = b.first_seen_sync_id)
  AND EXISTS (SELECT 1 FROM tracker.sync_runs AS r WHERE r.sync_id = b.missing_since_sync_id)
ON CONFLICT (kind, id) DO NOTHING;

-- name: mark_run_restored
-- Record that a cleanup was restored, and by whom.
UPDATE archive.runs
SET restored_by = :'restored_by'::text,
    restored_at = clock_timestamp()
WHERE run_id = :'run_id'::bigint;
