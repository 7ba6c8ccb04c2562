-- The reports schema: views a BI tool (Metabase, Superset, Power BI, Excel via ODBC) can
-- select from, since such tools read tables and views, not scripts. Each view is the
-- SELECT of a report of sql/reports without its psql filters and its order (a tool
-- filters and sorts for itself); tests/test_reports_views.py keeps each in step with its
-- file, row for row on the test school:
--
--   reports.latest_risk        sql/reports/latest_risk.sql       each student's latest stored risk
--   reports.active_students    sql/reports/active_students.sql   who is in each course
--   reports.student_standing   sql/reports/student_standing.sql  score, grade, missing, late,
--                                                                last activity, latest risk
--   reports.score_history      sql/reports/score_history.sql     every step of every submission
--
-- A condition on a view's student, course or assignment reaches the tables beneath (for
-- score_history through its window's partition), so a tool's filter costs what the
-- report's does. The views read with their owner's rights: a role needs only USAGE on
-- the schema and SELECT on the views, which sql/admin/roles.sql grants to
-- tracker_readonly (and to tracker_sync and tracker_app), also for views later
-- migrations add. Grants stay in that one file, so a migration's outcome does not
-- depend on which roles the server holds: on a database whose roles were set up before
-- this migration, run roles.sql again after it (as after every migration).
-- depends: 0017_fetch_watermarks

CREATE SCHEMA reports;

COMMENT ON SCHEMA reports IS
    'Views for BI tools: the reports of sql/reports as views; read-only.';

CREATE VIEW reports.latest_risk AS
SELECT
    r.user_id,
    u.name AS student,
    u.sis_user_id,
    r.course_id,
    c.name AS course,
    r.assessed_at,
    r.score AS risk_score,
    r.category,
    r.confidence,
    ARRAY(SELECT jsonb_array_elements_text(r.factors -> 'reasons')) AS reasons,
    r.factors ->> 'trend' AS trend,
    (r.factors -> 'score' ->> 'value')::numeric AS current_score,
    (r.factors -> 'momentum' ->> 'value')::numeric AS slope_per_week,
    (r.factors -> 'counts' ->> 'due')::integer AS due,
    (r.factors -> 'counts' ->> 'missing')::integer AS missing,
    (r.factors -> 'missing' ->> 'value')::numeric AS missing_ratio,
    (r.factors -> 'counts' ->> 'submitted')::integer AS submitted,
    (r.factors -> 'counts' ->> 'late')::integer AS late,
    (r.factors -> 'late' ->> 'value')::numeric AS late_ratio,
    (r.factors -> 'inactivity' ->> 'value')::numeric AS days_inactive,
    (r.factors -> 'score' ->> 'risk')::numeric AS score_risk,
    (r.factors -> 'momentum' ->> 'risk')::numeric AS momentum_risk,
    (r.factors -> 'missing' ->> 'risk')::numeric AS missing_risk,
    (r.factors -> 'late' ->> 'risk')::numeric AS late_risk,
    (r.factors -> 'inactivity' ->> 'risk')::numeric AS inactivity_risk,
    r.model_version,
    r.sync_id,
    r.id AS assessment_id
FROM (
    SELECT DISTINCT ON (ra.user_id, ra.course_id)
        ra.*
    FROM history.risk_assessments AS ra
    ORDER BY ra.user_id, ra.course_id, ra.assessed_at DESC, ra.id DESC
) AS r
JOIN canvas.users AS u ON u.id = r.user_id
LEFT JOIN canvas.courses AS c ON c.id = r.course_id
WHERE r.course_id IS NULL
   OR EXISTS (
       SELECT 1
       FROM canvas.active_students AS e
       WHERE e.user_id = r.user_id
         AND e.course_id = r.course_id
   );

COMMENT ON VIEW reports.latest_risk IS
    'The latest stored risk assessment per student and course, with its factors (sql/reports/latest_risk.sql).';

CREATE VIEW reports.active_students AS
SELECT
    e.course_id,
    c.name AS course,
    c.course_code,
    c.sis_course_id,
    e.user_id,
    u.name AS student,
    u.sortable_name,
    u.sis_user_id,
    array_agg(DISTINCT coalesce(s.name, 'section ' || e.course_section_id)) AS sections,
    array_agg(e.id ORDER BY e.id) AS enrollment_ids
FROM canvas.active_students AS e
JOIN canvas.users AS u ON u.id = e.user_id
JOIN canvas.courses AS c ON c.id = e.course_id
LEFT JOIN canvas.sections AS s ON s.id = e.course_section_id
GROUP BY e.course_id, c.name, c.course_code, c.sis_course_id, e.user_id, u.name,
         u.sortable_name, u.sis_user_id;

COMMENT ON VIEW reports.active_students IS
    'The active students of each course, one row per student and course (sql/reports/active_students.sql).';

CREATE VIEW reports.student_standing AS
SELECT
    sc.course_id,
    c.name AS course,
    sc.user_id,
    u.name AS student,
    u.sis_user_id,
    sc.current_score,
    (SELECT e.current_grade
     FROM canvas.active_students AS e
     WHERE e.user_id = sc.user_id
       AND e.course_id = sc.course_id
     ORDER BY e.id
     LIMIT 1) AS current_grade,
    coalesce(w.missing, 0) AS missing,
    coalesce(w.late, 0) AS late,
    sc.last_activity_at,
    r.category AS risk_category,
    r.score AS risk_score,
    ARRAY(SELECT jsonb_array_elements_text(r.factors -> 'reasons')) AS risk_reasons,
    r.assessed_at AS risk_assessed_at
FROM canvas.student_courses AS sc
JOIN canvas.users AS u ON u.id = sc.user_id
JOIN canvas.courses AS c ON c.id = sc.course_id
-- Grouped (not LATERAL) so that reading every student at once is one pass over each
-- table, and a condition on the student or the course still reaches the indexes.
LEFT JOIN (
    SELECT
        s.user_id,
        s.course_id,
        count(*) FILTER (WHERE coalesce(s.missing, false)
                               OR s.late_policy_status IS NOT DISTINCT FROM 'missing')::integer
            AS missing,
        count(*) FILTER (WHERE coalesce(s.late, false))::integer AS late
    FROM canvas.submissions AS s
    JOIN canvas.graded_assignments AS a ON a.id = s.assignment_id
    WHERE s.excused IS NOT TRUE
    GROUP BY s.user_id, s.course_id
) AS w ON w.user_id = sc.user_id AND w.course_id = sc.course_id
LEFT JOIN (
    SELECT DISTINCT ON (ra.user_id, ra.course_id)
        ra.user_id,
        ra.course_id,
        ra.category,
        ra.score,
        ra.factors,
        ra.assessed_at
    FROM history.risk_assessments AS ra
    ORDER BY ra.user_id, ra.course_id, ra.assessed_at DESC, ra.id DESC
) AS r ON r.user_id = sc.user_id AND r.course_id = sc.course_id;

COMMENT ON VIEW reports.student_standing IS
    'Each active student''s standing per course: score, grade, missing, late, last activity, latest risk (sql/reports/student_standing.sql).';

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
    'Each recorded step of each submission of an active student: values, what changed, the sync that saw it (sql/reports/score_history.sql).';
