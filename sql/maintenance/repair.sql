-- The safe repairs of integrity.sql's findings, in one transaction: rows about objects
-- found nowhere are archived (whole, as JSON) before they are removed; lifecycle rows
-- are brought in line with layer 1. Nothing Canvas sent and nothing a person wrote is
-- lost. Findings marked not fixable need a person (see their suggested repair).
--
--   psql -X -1 -v ON_ERROR_STOP=1 -v actor=dba -f sql/maintenance/repair.sql
--
-- The archive rows of one run of this file go under the run its first statement opens
-- (the statements after it find it with currval, in the same session).

-- name: start_repair_run
-- Open the archive run of this repair.
INSERT INTO archive.runs (kind, performed_by, reason)
VALUES ('repair', :'actor'::text, 'tracker check --fix: rows about objects found nowhere')
RETURNING run_id;

-- name: allow_history_archive
-- Declare, for this transaction only, that history rows are being removed into the archive.
SELECT set_config('tracker.history_write', 'archive', true);

-- name: set_repair_actor
-- Who repairs, for the audit log of user data.
SELECT set_config('tracker.actor', :'actor'::text, true);

-- name: archive_orphan_enrollment_grades
-- Archive, then remove, grade history of enrollments found neither in layer 1 nor in the archive.
WITH run AS (
    SELECT currval(pg_get_serial_sequence('archive.runs', 'run_id')) AS run_id
),
orphans AS (
    SELECT h.id
    FROM history.enrollment_grades AS h
    WHERE NOT EXISTS (SELECT 1 FROM canvas.enrollments AS e WHERE e.id = h.enrollment_id)
      AND NOT EXISTS (SELECT 1 FROM archive.rows AS a JOIN archive.runs AS r ON r.run_id = a.run_id
                      WHERE r.restored_at IS NULL AND a.relation = 'canvas.enrollments'
                        AND a.row_id = h.enrollment_id::text)
),
archived AS (
    INSERT INTO archive.rows (run_id, relation, row_id, row_data)
    SELECT run.run_id, 'history.enrollment_grades', h.id::text, to_jsonb(h)
    FROM history.enrollment_grades AS h
    JOIN orphans AS o ON o.id = h.id
    CROSS JOIN run
)
DELETE FROM history.enrollment_grades AS h
USING orphans AS o
WHERE h.id = o.id;

-- name: archive_orphan_submission_scores
-- Archive, then remove, score history of submissions found neither in layer 1 nor in the archive.
WITH run AS (
    SELECT currval(pg_get_serial_sequence('archive.runs', 'run_id')) AS run_id
),
orphans AS (
    SELECT h.id
    FROM history.submission_scores AS h
    WHERE NOT EXISTS (SELECT 1 FROM canvas.submissions AS s WHERE s.id = h.submission_id)
      AND NOT EXISTS (SELECT 1 FROM archive.rows AS a JOIN archive.runs AS r ON r.run_id = a.run_id
                      WHERE r.restored_at IS NULL AND a.relation = 'canvas.submissions'
                        AND a.row_id = h.submission_id::text)
),
archived AS (
    INSERT INTO archive.rows (run_id, relation, row_id, row_data)
    SELECT run.run_id, 'history.submission_scores', h.id::text, to_jsonb(h)
    FROM history.submission_scores AS h
    JOIN orphans AS o ON o.id = h.id
    CROSS JOIN run
)
DELETE FROM history.submission_scores AS h
USING orphans AS o
WHERE h.id = o.id;

-- name: archive_orphan_course_snapshots
-- Archive, then remove, snapshots of courses found neither in layer 1 nor in the archive.
WITH run AS (
    SELECT currval(pg_get_serial_sequence('archive.runs', 'run_id')) AS run_id
),
orphans AS (
    SELECT h.id
    FROM history.course_snapshots AS h
    WHERE NOT EXISTS (SELECT 1 FROM canvas.courses AS c WHERE c.id = h.course_id)
      AND NOT EXISTS (SELECT 1 FROM archive.rows AS a JOIN archive.runs AS r ON r.run_id = a.run_id
                      WHERE r.restored_at IS NULL AND a.relation = 'canvas.courses'
                        AND a.row_id = h.course_id::text)
),
archived AS (
    INSERT INTO archive.rows (run_id, relation, row_id, row_data)
    SELECT run.run_id, 'history.course_snapshots', h.id::text, to_jsonb(h)
    FROM history.course_snapshots AS h
    JOIN orphans AS o ON o.id = h.id
    CROSS JOIN run
)
DELETE FROM history.course_snapshots AS h
USING orphans AS o
WHERE h.id = o.id;

-- name: archive_orphan_risk_assessments
-- Archive, then remove, risk assessments of a user or course found neither in layer 1 nor
-- in the archive.
WITH run AS (
    SELECT currval(pg_get_serial_sequence('archive.runs', 'run_id')) AS run_id
),
archived_objects AS (
    SELECT a.relation, a.row_id
    FROM archive.rows AS a
    JOIN archive.runs AS r ON r.run_id = a.run_id
    WHERE r.restored_at IS NULL
      AND a.relation IN ('canvas.users', 'canvas.courses')
),
orphans AS (
    SELECT h.id
    FROM history.risk_assessments AS h
    WHERE (NOT EXISTS (SELECT 1 FROM canvas.users AS u WHERE u.id = h.user_id)
           AND NOT EXISTS (SELECT 1 FROM archived_objects AS a
                           WHERE a.relation = 'canvas.users' AND a.row_id = h.user_id::text))
       OR (h.course_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM canvas.courses AS c WHERE c.id = h.course_id)
           AND NOT EXISTS (SELECT 1 FROM archived_objects AS a
                           WHERE a.relation = 'canvas.courses' AND a.row_id = h.course_id::text))
),
archived AS (
    INSERT INTO archive.rows (run_id, relation, row_id, row_data)
    SELECT run.run_id, 'history.risk_assessments', h.id::text, to_jsonb(h)
    FROM history.risk_assessments AS h
    JOIN orphans AS o ON o.id = h.id
    CROSS JOIN run
)
DELETE FROM history.risk_assessments AS h
USING orphans AS o
WHERE h.id = o.id;

-- name: archive_orphan_notes
-- Archive, then remove, notes about objects found neither in layer 1 nor in the archive.
WITH run AS (
    SELECT currval(pg_get_serial_sequence('archive.runs', 'run_id')) AS run_id
),
orphans AS (
    SELECT n.id
    FROM userdata.notes AS n
    WHERE NOT EXISTS (SELECT 1 FROM canvas.users AS u WHERE n.subject_type = 'user' AND u.id = n.subject_id)
      AND NOT EXISTS (SELECT 1 FROM canvas.courses AS c WHERE n.subject_type = 'course' AND c.id = n.subject_id)
      AND NOT EXISTS (SELECT 1 FROM canvas.assignments AS a
                      WHERE n.subject_type = 'assignment' AND a.id = n.subject_id)
      AND NOT EXISTS (SELECT 1 FROM archive.rows AS a JOIN archive.runs AS r ON r.run_id = a.run_id
                      WHERE r.restored_at IS NULL AND a.relation = 'canvas.' || n.subject_type || 's'
                        AND a.row_id = n.subject_id::text)
),
archived AS (
    INSERT INTO archive.rows (run_id, relation, row_id, row_data)
    SELECT run.run_id, 'userdata.notes', n.id::text, to_jsonb(n)
    FROM userdata.notes AS n
    JOIN orphans AS o ON o.id = n.id
    CROSS JOIN run
)
DELETE FROM userdata.notes AS n
USING orphans AS o
WHERE n.id = o.id;

-- name: archive_orphan_custom_fields
-- Archive, then remove, custom fields about objects found neither in layer 1 nor in the archive.
WITH run AS (
    SELECT currval(pg_get_serial_sequence('archive.runs', 'run_id')) AS run_id
),
orphans AS (
    SELECT f.subject_type, f.subject_id, f.name
    FROM userdata.custom_fields AS f
    WHERE NOT EXISTS (SELECT 1 FROM canvas.users AS u WHERE f.subject_type = 'user' AND u.id = f.subject_id)
      AND NOT EXISTS (SELECT 1 FROM canvas.courses AS c WHERE f.subject_type = 'course' AND c.id = f.subject_id)
      AND NOT EXISTS (SELECT 1 FROM canvas.assignments AS a
                      WHERE f.subject_type = 'assignment' AND a.id = f.subject_id)
      AND NOT EXISTS (SELECT 1 FROM archive.rows AS a JOIN archive.runs AS r ON r.run_id = a.run_id
                      WHERE r.restored_at IS NULL AND a.relation = 'canvas.' || f.subject_type || 's'
                        AND a.row_id = f.subject_id::text)
),
archived AS (
    INSERT INTO archive.rows (run_id, relation, row_id, row_data)
    SELECT run.run_id, 'userdata.custom_fields',
           jsonb_build_array(f.subject_type, f.subject_id, f.name)::text, to_jsonb(f)
    FROM userdata.custom_fields AS f
    JOIN orphans AS o USING (subject_type, subject_id, name)
    CROSS JOIN run
)
DELETE FROM userdata.custom_fields AS f
USING orphans AS o
WHERE (f.subject_type, f.subject_id, f.name) = (o.subject_type, o.subject_id, o.name);

-- name: archive_orphan_tag_links
-- Archive (with the tag's name), then remove, tag links about objects found neither in
-- layer 1 nor in the archive.
WITH run AS (
    SELECT currval(pg_get_serial_sequence('archive.runs', 'run_id')) AS run_id
),
orphans AS (
    SELECT l.tag_id, l.subject_type, l.subject_id
    FROM userdata.tag_links AS l
    WHERE NOT EXISTS (SELECT 1 FROM canvas.users AS u WHERE l.subject_type = 'user' AND u.id = l.subject_id)
      AND NOT EXISTS (SELECT 1 FROM canvas.courses AS c WHERE l.subject_type = 'course' AND c.id = l.subject_id)
      AND NOT EXISTS (SELECT 1 FROM canvas.assignments AS a
                      WHERE l.subject_type = 'assignment' AND a.id = l.subject_id)
      AND NOT EXISTS (SELECT 1 FROM archive.rows AS a JOIN archive.runs AS r ON r.run_id = a.run_id
                      WHERE r.restored_at IS NULL AND a.relation = 'canvas.' || l.subject_type || 's'
                        AND a.row_id = l.subject_id::text)
),
archived AS (
    INSERT INTO archive.rows (run_id, relation, row_id, row_data, context)
    SELECT run.run_id, 'userdata.tag_links',
           jsonb_build_array(l.tag_id, l.subject_type, l.subject_id)::text, to_jsonb(l),
           jsonb_build_object('tag_name', t.name)
    FROM userdata.tag_links AS l
    JOIN orphans AS o USING (tag_id, subject_type, subject_id)
    JOIN userdata.tags AS t ON t.id = l.tag_id
    CROSS JOIN run
)
DELETE FROM userdata.tag_links AS l
USING orphans AS o
WHERE (l.tag_id, l.subject_type, l.subject_id) = (o.tag_id, o.subject_type, o.subject_id);

-- name: archive_orphan_curriculum_courses
-- Archive (with the curriculum's name), then remove, curriculum memberships of courses
-- found neither in layer 1 nor in the archive.
WITH run AS (
    SELECT currval(pg_get_serial_sequence('archive.runs', 'run_id')) AS run_id
),
orphans AS (
    SELECT cc.curriculum_id, cc.course_id
    FROM userdata.curriculum_courses AS cc
    WHERE NOT EXISTS (SELECT 1 FROM canvas.courses AS c WHERE c.id = cc.course_id)
      AND NOT EXISTS (SELECT 1 FROM archive.rows AS a JOIN archive.runs AS r ON r.run_id = a.run_id
                      WHERE r.restored_at IS NULL AND a.relation = 'canvas.courses'
                        AND a.row_id = cc.course_id::text)
),
archived AS (
    INSERT INTO archive.rows (run_id, relation, row_id, row_data, context)
    SELECT run.run_id, 'userdata.curriculum_courses',
           jsonb_build_array(cc.curriculum_id, cc.course_id)::text, to_jsonb(cc),
           jsonb_build_object('curriculum_name', cu.name)
    FROM userdata.curriculum_courses AS cc
    JOIN orphans AS o USING (curriculum_id, course_id)
    JOIN userdata.curricula AS cu ON cu.id = cc.curriculum_id
    CROSS JOIN run
)
DELETE FROM userdata.curriculum_courses AS cc
USING orphans AS o
WHERE (cc.curriculum_id, cc.course_id) = (o.curriculum_id, o.course_id);

-- name: track_untracked_objects
-- Give objects of layer 1 that layer 0 does not track a lifecycle row: active, first
-- seen by the sync that wrote them (objects written by no known sync are left).
INSERT INTO lifecycle.objects (kind, id, course_id, first_seen_sync_id, first_seen_at)
SELECT c.kind, c.id, c.course_id, r.sync_id, r.started_at
FROM (
    SELECT 'term' AS kind, t.id, NULL::bigint AS course_id, t.sync_id FROM canvas.terms AS t
    UNION ALL SELECT 'course', t.id, t.id, t.sync_id FROM canvas.courses AS t
    UNION ALL SELECT 'section', t.id, t.course_id, t.sync_id FROM canvas.sections AS t
    UNION ALL SELECT 'user', t.id, NULL, t.sync_id FROM canvas.users AS t
    UNION ALL SELECT 'assignment_group', t.id, t.course_id, t.sync_id FROM canvas.assignment_groups AS t
    UNION ALL SELECT 'assignment', t.id, t.course_id, t.sync_id FROM canvas.assignments AS t
    UNION ALL SELECT 'enrollment', t.id, t.course_id, t.sync_id FROM canvas.enrollments AS t
) AS c
JOIN tracker.sync_runs AS r ON r.sync_id = c.sync_id
WHERE NOT EXISTS (SELECT 1 FROM lifecycle.objects AS o WHERE o.kind = c.kind AND o.id = c.id)
ON CONFLICT (kind, id) DO NOTHING;

-- name: unmark_present_objects
-- Objects marked deleted that are in layer 1 again: missing, approval cleared.
UPDATE lifecycle.objects AS o
SET status      = 'missing',
    approved_by = NULL,
    approved_at = NULL,
    deleted_at  = NULL
WHERE o.status = 'deleted'
  AND (EXISTS (SELECT 1 FROM canvas.terms AS t WHERE o.kind = 'term' AND t.id = o.id)
    OR EXISTS (SELECT 1 FROM canvas.courses AS t WHERE o.kind = 'course' AND t.id = o.id)
    OR EXISTS (SELECT 1 FROM canvas.sections AS t WHERE o.kind = 'section' AND t.id = o.id)
    OR EXISTS (SELECT 1 FROM canvas.users AS t WHERE o.kind = 'user' AND t.id = o.id)
    OR EXISTS (SELECT 1 FROM canvas.assignment_groups AS t
               WHERE o.kind = 'assignment_group' AND t.id = o.id)
    OR EXISTS (SELECT 1 FROM canvas.assignments AS t WHERE o.kind = 'assignment' AND t.id = o.id)
    OR EXISTS (SELECT 1 FROM canvas.enrollments AS t WHERE o.kind = 'enrollment' AND t.id = o.id));

-- name: align_lifecycle_scope
-- Set each lifecycle row's course from the object's course in layer 1.
UPDATE lifecycle.objects AS o
SET course_id = a.course_id
FROM (
    SELECT 'course' AS kind, c.id, c.id AS course_id FROM canvas.courses AS c
    UNION ALL SELECT 'section', s.id, s.course_id FROM canvas.sections AS s
    UNION ALL SELECT 'assignment_group', g.id, g.course_id FROM canvas.assignment_groups AS g
    UNION ALL SELECT 'assignment', a.id, a.course_id FROM canvas.assignments AS a
    UNION ALL SELECT 'enrollment', e.id, e.course_id FROM canvas.enrollments AS e
) AS a
WHERE a.kind = o.kind
  AND a.id = o.id
  AND o.course_id IS DISTINCT FROM a.course_id;

-- name: align_submission_course
-- Set each submission's course from its assignment's course.
UPDATE canvas.submissions AS s
SET course_id = a.course_id
FROM canvas.assignments AS a
WHERE a.id = s.assignment_id
  AND s.course_id <> a.course_id;

-- name: finish_repair_run
-- Record what this repair archived, per relation.
UPDATE archive.runs AS r
SET counts = coalesce((SELECT jsonb_object_agg(a.relation, a.row_count)
                       FROM (SELECT relation, count(*) AS row_count
                             FROM archive.rows
                             WHERE run_id = r.run_id
                             GROUP BY relation) AS a), '{}'::jsonb)
WHERE r.run_id = currval(pg_get_serial_sequence('archive.runs', 'run_id'))
RETURNING r.run_id, r.counts;

-- name: drop_empty_repair_run
-- A repair that archived nothing leaves no run behind.
DELETE FROM archive.runs
WHERE run_id = currval(pg_get_serial_sequence('archive.runs', 'run_id'))
  AND kind = 'repair'
  AND counts = '{}'::jsonb;
