-- Undoing a sync: layers 1 and 0 return to their state before it, and the layer 2
-- rows it appended are removed. Refused when a later sync touched the same rows.

-- name: later_conflicts
-- Later runs (not undone) that changed rows this run wrote or whose lifecycle it changed.
SELECT c.sync_id, c.relation, count(*) AS row_count
FROM tracker.sync_changes AS c
JOIN tracker.sync_runs AS r ON r.sync_id = c.sync_id
WHERE c.sync_id > :'sync_id'::bigint
  AND r.status = 'succeeded'
  AND (
        (c.relation LIKE 'canvas.%' AND (c.before ->> 'sync_id')::bigint = :'sync_id'::bigint)
     OR (c.relation = 'lifecycle.objects'
         AND (EXISTS (SELECT 1
                      FROM tracker.sync_changes AS mine
                      WHERE mine.sync_id = :'sync_id'::bigint
                        AND mine.relation = 'lifecycle.objects'
                        AND mine.kind = c.kind
                        AND mine.row_id = c.row_id)
              OR EXISTS (SELECT 1
                         FROM lifecycle.objects AS o
                         WHERE o.kind = c.kind
                           AND o.id = c.row_id
                           AND o.first_seen_sync_id = :'sync_id'::bigint)))
  )
GROUP BY c.sync_id, c.relation
ORDER BY c.sync_id, c.relation;

-- name: stage_before_images
-- Put one table's before-images of a run into its undo stage.
-- allow stage: pg_temp.undo_terms, pg_temp.undo_courses, pg_temp.undo_sections, pg_temp.undo_users, pg_temp.undo_assignment_groups, pg_temp.undo_assignments, pg_temp.undo_enrollments, pg_temp.undo_submissions
-- allow table: canvas.terms, canvas.courses, canvas.sections, canvas.users, canvas.assignment_groups, canvas.assignments, canvas.enrollments, canvas.submissions
INSERT INTO :"stage" (record_no, id, existed, changed, rec)
SELECT NULL, c.row_id, true, true, jsonb_populate_record(CAST(NULL AS :"table"), c.before)
FROM tracker.sync_changes AS c
WHERE c.sync_id = :'sync_id'::bigint
  AND c.relation = :'relation'::text;

-- name: delete_inserted
-- Remove the rows a run inserted: after the before-images are back, those are the
-- rows that still carry the run's id.
-- allow table: canvas.terms, canvas.courses, canvas.sections, canvas.users, canvas.assignment_groups, canvas.assignments, canvas.enrollments, canvas.submissions
DELETE FROM :"table"
WHERE sync_id = :'sync_id'::bigint;

-- name: cleanups_since
-- Approved cleanups (not restored) done after a run started: undoing the run could bring
-- back lifecycle rows of objects that no longer exist.
SELECT c.run_id, c.performed_at
FROM archive.runs AS c
JOIN tracker.sync_runs AS s ON s.sync_id = :'sync_id'::bigint
WHERE c.kind = 'cleanup'
  AND c.performed_at > s.started_at
  AND c.restored_at IS NULL
ORDER BY c.run_id;

-- name: retention_since
-- Retention runs done after a run started that archived a history row of a series the
-- run appended to (a student's grades or risk assessments in a course, a submission's
-- scores, a course's snapshots, the grade changes of a student's assignment): the run's newer row is what let retention archive the
-- older one, so undoing the run would leave the series without the last value known
-- before it.
SELECT r.run_id, count(*) AS archived
FROM archive.runs AS r
JOIN tracker.sync_runs AS s ON s.sync_id = :'sync_id'::bigint
JOIN archive.rows AS a ON a.run_id = r.run_id
WHERE r.kind = 'retention'
  AND r.performed_at > s.started_at
  AND CASE a.relation
          WHEN 'history.enrollment_grades' THEN EXISTS (
              SELECT 1
              FROM history.enrollment_grades AS h
              WHERE h.sync_id = s.sync_id
                AND h.enrollment_id = (a.row_data ->> 'enrollment_id')::bigint)
          WHEN 'history.submission_scores' THEN EXISTS (
              SELECT 1
              FROM history.submission_scores AS h
              WHERE h.sync_id = s.sync_id
                AND h.submission_id = (a.row_data ->> 'submission_id')::bigint)
          WHEN 'history.course_snapshots' THEN EXISTS (
              SELECT 1
              FROM history.course_snapshots AS h
              WHERE h.sync_id = s.sync_id
                AND h.course_id = (a.row_data ->> 'course_id')::bigint)
          WHEN 'history.risk_assessments' THEN EXISTS (
              SELECT 1
              FROM history.risk_assessments AS h
              WHERE h.sync_id = s.sync_id
                AND h.user_id = (a.row_data ->> 'user_id')::bigint
                AND h.course_id IS NOT DISTINCT FROM (a.row_data ->> 'course_id')::bigint)
          WHEN 'history.grade_changes' THEN EXISTS (
              SELECT 1
              FROM history.grade_changes AS h
              WHERE h.sync_id = s.sync_id
                AND h.assignment_id = (a.row_data ->> 'assignment_id')::bigint
                AND h.student_id IS NOT DISTINCT FROM (a.row_data ->> 'student_id')::bigint)
          ELSE false
      END
GROUP BY r.run_id
ORDER BY r.run_id;
