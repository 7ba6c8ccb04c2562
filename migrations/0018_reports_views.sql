-- The reports schema: views a BI tool (Metabase, Superset, Power BI, Excel via ODBC) can
-- select from, since such tools read tables and views, not scripts. Each view is the
-- SELECT of a report of sql/reports without its psql filters and its order (a tool
-- filters and sorts for itself); tests/test_reports_views.py keeps each in step with its
-- file, row for row on the test school:
--
--   reports.score_history     sql/reports/score_history.sql
--
-- The views read with their owner's rights, so a role needs only USAGE on the schema
-- and SELECT on the views: sql/admin/roles.sql grants both to tracker_readonly (and to
-- tracker_sync and tracker_app), also for views later migrations add. Where the roles
-- exist already, this migration grants them too.
-- depends: 0017_fetch_watermarks

CREATE SCHEMA reports;

COMMENT ON SCHEMA reports IS
    'Views for BI tools: the reports of sql/reports as views, read-only.';

CREATE VIEW reports.score_history AS
SELECT
    h.user_id,
    u.name AS student,
    u.sis_user_id,
    h.course_id,
    c.name AS course,
    h.assignment_id,
    a.name AS assignment,
    h.submission_id,
    h.recorded_at,
    h.sync_id,
    r.finished_at AS synced_at,
    h.score,
    h.previous_score,
    h.grade,
    h.workflow_state,
    h.excused,
    h.late,
    h.missing,
    array_remove(ARRAY[
        CASE WHEN h.previous_id IS NULL THEN 'first seen' END,
        CASE WHEN h.previous_id IS NOT NULL AND h.score IS DISTINCT FROM h.previous_score
            THEN 'score ' || coalesce(trim_scale(h.previous_score)::text, '–')
                 || ' → ' || coalesce(trim_scale(h.score)::text, '–') END,
        CASE WHEN h.previous_id IS NOT NULL AND h.grade IS DISTINCT FROM h.previous_grade
            THEN 'grade ' || coalesce(h.previous_grade, '–') || ' → ' || coalesce(h.grade, '–') END,
        CASE WHEN h.previous_id IS NOT NULL AND h.workflow_state IS DISTINCT FROM h.previous_state
            THEN 'state ' || h.previous_state || ' → ' || h.workflow_state END,
        CASE WHEN h.previous_id IS NOT NULL AND h.excused IS DISTINCT FROM h.previous_excused
            THEN CASE WHEN h.excused THEN 'excused' ELSE 'no longer excused' END END,
        CASE WHEN h.previous_id IS NOT NULL AND h.late IS DISTINCT FROM h.previous_late
            THEN CASE WHEN h.late THEN 'late' ELSE 'no longer late' END END,
        CASE WHEN h.previous_id IS NOT NULL AND h.missing IS DISTINCT FROM h.previous_missing
            THEN CASE WHEN h.missing THEN 'missing' ELSE 'no longer missing' END END
    ], NULL) AS changes,
    h.id AS history_id
FROM (
    -- Each step beside the one before it. The window's partition names the columns a
    -- filter may test (all fixed per submission), so a condition on them reaches the
    -- scan beneath, also when the view is queried.
    SELECT
        ss.*,
        lag(ss.id) OVER w AS previous_id,
        lag(ss.score) OVER w AS previous_score,
        lag(ss.grade) OVER w AS previous_grade,
        lag(ss.workflow_state) OVER w AS previous_state,
        lag(ss.excused) OVER w AS previous_excused,
        lag(ss.late) OVER w AS previous_late,
        lag(ss.missing) OVER w AS previous_missing
    FROM history.submission_scores AS ss
    WINDOW w AS (
        PARTITION BY ss.submission_id, ss.user_id, ss.course_id, ss.assignment_id
        ORDER BY ss.recorded_at, ss.id
    )
) AS h
JOIN canvas.users AS u ON u.id = h.user_id
JOIN canvas.courses AS c ON c.id = h.course_id
JOIN canvas.assignments AS a ON a.id = h.assignment_id
JOIN tracker.sync_runs AS r ON r.sync_id = h.sync_id
WHERE EXISTS (
      SELECT 1
      FROM canvas.active_students AS e
      WHERE e.user_id = h.user_id
        AND e.course_id = h.course_id
  )
  AND NOT EXISTS (
      SELECT 1
      FROM lifecycle.objects AS o
      WHERE o.kind = 'assignment'
        AND o.id = h.assignment_id
        AND o.status <> 'active'
  );

COMMENT ON VIEW reports.score_history IS
    'Each recorded step of each submission of an active student: score, grade, state, flags, what changed, the sync that saw it.';

DO $$
DECLARE
    role_name name;
BEGIN
    FOR role_name IN
        SELECT rolname
        FROM pg_catalog.pg_roles
        WHERE rolname IN ('tracker_readonly', 'tracker_sync', 'tracker_app')
    LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA reports TO %I', role_name);
        EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA reports TO %I', role_name);
    END LOOP;
END
$$;
