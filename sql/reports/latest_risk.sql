-- Latest risk: the most recent stored risk assessment of each student.
--
-- Run:   psql -X -v ON_ERROR_STOP=1 -v course_id=42 -v user_id= -f sql/reports/latest_risk.sql
-- Takes: -v course_id=ID   one course; empty (course_id=) for every course (and the
--                          assessments made across all courses, whose course is null)
--        -v user_id=ID     one student; empty (user_id=) for every student
-- Both variables must be given (psql leaves an unset :'name' in the text); an empty
-- value means "no filter".
--
-- From layer 2 (history.risk_assessments): per student and course, the latest
-- assessment — made by the sync that last changed the course, or by a program through
-- tracker.analytics.record_risk_assessments — with its score, category, confidence,
-- reasons, model version and the sync that made it (empty: a program); most at risk
-- first. The factors come out as the columns at_risk_students.sql gives them (the
-- names of model risk-v1; a factor the model did not record is empty). They are
-- those of the data the last sync wrote, but for days_inactive, as of the assessment:
-- the course's clock moving appends an assessment only when a risk or reason moves.
-- Students no longer actively enrolled in the course (or the test student, or marked
-- missing in layer 0) are left out. The view reports.latest_risk (migration
-- 0018_reports_views) is this SELECT without the filters and the order.

-- name: latest_risk
-- The latest risk assessment per student and course, most at risk first.
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
    WHERE (NULLIF(:'course_id'::text, '') IS NULL OR ra.course_id = NULLIF(:'course_id'::text, '')::bigint)
      AND (NULLIF(:'user_id'::text, '') IS NULL OR ra.user_id = NULLIF(:'user_id'::text, '')::bigint)
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
   )
ORDER BY r.score DESC, u.sortable_name, r.user_id, c.name NULLS FIRST, r.course_id NULLS FIRST;
