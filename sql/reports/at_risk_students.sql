-- At-risk students: who needs help, how urgently, and why.
--
-- Run:   psql -X -v ON_ERROR_STOP=1 -v course_id=42 -f sql/reports/at_risk_students.sql
-- Takes: -v course_id=ID   one course; empty (course_id=) for every course
-- The variable must be given (psql leaves an unset :'course_id' in the text).
--
-- One row per active student and course, most at risk first; category 'low' means not
-- at risk. The risk, its factors and reasons are canvas.student_risk's (sql/rules/risk.sql,
-- \sf canvas.student_risk; model_version names the model that scored them: risk-v1,
-- canvas.risk_weights its weights, or one learned by tracker risk fit; contributions,
-- what each factor added; README lists them); this file adds the names and the order. Each sync stores the same
-- assessments in layer 2 (latest_risk.sql reads them back).

-- name: at_risk_students
-- Risk score, category, factors and reasons per active student and course, most at risk first.
SELECT
    r.user_id,
    u.name AS student,
    u.sis_user_id,
    r.course_id,
    c.name AS course,
    r.risk_score,
    r.category,
    r.confidence,
    r.reasons,
    r.current_score,
    r.trend,
    r.slope_per_week,
    r.r2,
    r.momentum_points,
    r.due,
    r.missing,
    r.missing_ratio,
    r.submitted,
    r.late,
    r.late_ratio,
    r.days_inactive,
    r.last_activity_at,
    r.clock,
    r.score_risk,
    r.momentum_risk,
    r.missing_risk,
    r.late_risk,
    r.inactivity_risk,
    r.model_version,
    r.contributions
FROM canvas.student_risk(
    CASE WHEN NULLIF(:'course_id'::text, '') IS NOT NULL
         THEN ARRAY[NULLIF(:'course_id'::text, '')::bigint] END
) AS r
JOIN canvas.users AS u ON u.id = r.user_id
JOIN canvas.courses AS c ON c.id = r.course_id
ORDER BY r.risk_score DESC, u.sortable_name, r.user_id, c.name, r.course_id;
