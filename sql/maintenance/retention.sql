-- Retention of layer 2: history rows older than their table's policy
-- (archive.retention_policies) are archived, whole, and removed, in batches that each
-- lock only their own rows (FOR UPDATE SKIP LOCKED: rows a sync is using are skipped
-- for now) and commit on their own. The newest row of each series (an enrollment's
-- grades, a submission's scores, …) is always kept, however old: it is the last thing
-- known about it. The tracker command runs batches until none is left
-- (tracker maintenance retention); a DBA runs one batch of one table with
--
--   psql -X -1 -v ON_ERROR_STOP=1 -v actor=dba -v batch_size=5000 -v run_id= \
--        -v table=enrollment_grades -v series=enrollment_id \
--        -v subseries=enrollment_id -v recorded_at=recorded_at \
--        -f sql/maintenance/retention.sql
--
-- (an empty run_id: the batch goes under the run the first statement opens). The series
-- of each table: enrollment_grades by enrollment_id, submission_scores by submission_id,
-- course_snapshots by course_id (each its own subseries, recorded_at), risk_assessments
-- by user_id and course_id (assessed_at), grade_changes by assignment_id and student_id
-- (created_at: a student's grade on one assignment; a final-grade override, which has no
-- assignment, is kept).

-- name: retention_due
-- Per history table with a policy: how long it keeps rows, and how many are due now.
SELECT p.relation, p.keep, p.updated_by, p.updated_at,
       CASE p.relation
           WHEN 'history.enrollment_grades' THEN
               (SELECT count(*) FROM history.enrollment_grades AS h
                WHERE h.recorded_at < now() - p.keep
                  AND EXISTS (SELECT 1 FROM history.enrollment_grades AS newer
                              WHERE newer.enrollment_id = h.enrollment_id
                                AND newer.recorded_at > h.recorded_at))
           WHEN 'history.submission_scores' THEN
               (SELECT count(*) FROM history.submission_scores AS h
                WHERE h.recorded_at < now() - p.keep
                  AND EXISTS (SELECT 1 FROM history.submission_scores AS newer
                              WHERE newer.submission_id = h.submission_id
                                AND newer.recorded_at > h.recorded_at))
           WHEN 'history.course_snapshots' THEN
               (SELECT count(*) FROM history.course_snapshots AS h
                WHERE h.recorded_at < now() - p.keep
                  AND EXISTS (SELECT 1 FROM history.course_snapshots AS newer
                              WHERE newer.course_id = h.course_id
                                AND newer.recorded_at > h.recorded_at))
           WHEN 'history.risk_assessments' THEN
               (SELECT count(*) FROM history.risk_assessments AS h
                WHERE h.assessed_at < now() - p.keep
                  AND EXISTS (SELECT 1 FROM history.risk_assessments AS newer
                              WHERE newer.user_id = h.user_id
                                AND newer.course_id IS NOT DISTINCT FROM h.course_id
                                AND newer.assessed_at > h.assessed_at))
           WHEN 'history.grade_changes' THEN
               (SELECT count(*) FROM history.grade_changes AS h
                WHERE h.created_at < now() - p.keep
                  AND EXISTS (SELECT 1 FROM history.grade_changes AS newer
                              WHERE newer.assignment_id = h.assignment_id
                                AND newer.student_id IS NOT DISTINCT FROM h.student_id
                                AND newer.created_at > h.created_at))
       END AS due
FROM archive.retention_policies AS p
ORDER BY p.relation;

-- name: start_retention_run
-- Open the archive run of one retention.
INSERT INTO archive.runs (kind, performed_by, reason)
VALUES ('retention', :'actor'::text, 'retention policy of layer 2')
RETURNING run_id;

-- name: allow_retention_archive
-- Declare, for this transaction only, that history rows are being removed into the
-- archive, and wait at most a moment for a lock (a batch gives way to the sync).
SELECT set_config('tracker.history_write', 'archive', true),
       set_config('lock_timeout', '2s', true);

-- name: archive_history_batch
-- One batch of one history table's rows older than its policy: the newest row of each
-- series (the rows with one series value, and one subseries value where a series has two
-- columns, the same column again where it has one) is kept.
-- allow table: enrollment_grades, submission_scores, course_snapshots, risk_assessments, grade_changes
-- allow series: enrollment_id, submission_id, course_id, user_id, assignment_id
-- allow subseries: enrollment_id, submission_id, course_id, student_id
-- allow recorded_at: recorded_at, assessed_at, created_at
WITH run AS (
    SELECT coalesce(nullif(:'run_id'::text, '')::bigint,
                    currval(pg_get_serial_sequence('archive.runs', 'run_id'))) AS run_id
),
due AS (
    SELECT h.id, p.relation
    FROM history.:"table" AS h
    JOIN archive.retention_policies AS p ON p.relation::regclass = h.tableoid
    WHERE h.:"recorded_at" < now() - p.keep
      AND EXISTS (SELECT 1 FROM history.:"table" AS newer
                  WHERE newer.:"series" = h.:"series"
                    AND newer.:"subseries" IS NOT DISTINCT FROM h.:"subseries"
                    AND newer.:"recorded_at" > h.:"recorded_at")
    ORDER BY h.id
    LIMIT :'batch_size'::integer
    FOR UPDATE OF h SKIP LOCKED
),
archived AS (
    INSERT INTO archive.rows (run_id, relation, row_id, row_data)
    SELECT run.run_id, d.relation, h.id::text, to_jsonb(h)
    FROM history.:"table" AS h
    JOIN due AS d ON d.id = h.id
    CROSS JOIN run
)
DELETE FROM history.:"table" AS h
USING due AS d
WHERE h.id = d.id;

-- name: finish_retention_run
-- Record what a retention run archived, per relation.
UPDATE archive.runs AS r
SET counts = coalesce((SELECT jsonb_object_agg(a.relation, a.row_count)
                       FROM (SELECT relation, count(*) AS row_count
                             FROM archive.rows
                             WHERE run_id = r.run_id
                             GROUP BY relation) AS a), '{}'::jsonb)
WHERE r.run_id = coalesce(nullif(:'run_id'::text, '')::bigint,
                          currval(pg_get_serial_sequence('archive.runs', 'run_id')))
RETURNING r.run_id, r.counts;
