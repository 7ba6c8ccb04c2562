-- The rollback of 0014_risk_models (run by its restore()): drop what it added, and give
-- canvas.student_risk back the text 0011_rules and 0013_outcomes left (model risk-v1
-- alone, its columns as they were), copied here as it stood.

DROP FUNCTION canvas.student_risk_as_of(bigint[], integer, text);

DROP FUNCTION canvas.student_risk(bigint[]);

DROP FUNCTION canvas.assess_risk(double precision[], double precision[], double precision[], double precision, numeric[], numeric, bigint, text, double precision, numeric, numeric, numeric, bigint, bigint, bigint, bigint);

DROP FUNCTION canvas.risk_model(text);

DROP FUNCTION canvas.risk_features(numeric, bigint, double precision, numeric, numeric, numeric);

CREATE OR REPLACE FUNCTION canvas.student_risk(course_ids bigint[])
RETURNS TABLE (
    user_id bigint,
    course_id bigint,
    risk_score numeric,
    category text,
    confidence numeric,
    reasons text[],
    current_score numeric,
    trend text,
    slope_per_week numeric,
    r2 numeric,
    momentum_points bigint,
    due bigint,
    missing bigint,
    missing_ratio numeric,
    submitted bigint,
    late bigint,
    late_ratio numeric,
    days_inactive numeric,
    last_activity_at timestamptz,
    clock timestamptz,
    score_risk numeric,
    momentum_risk numeric,
    missing_risk numeric,
    late_risk numeric,
    inactivity_risk numeric
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
WITH students AS (
    SELECT
        st.user_id,
        st.course_id,
        st.current_score,
        st.last_activity_at
    FROM canvas.student_courses AS st
    WHERE (course_ids IS NULL OR st.course_id = ANY(course_ids))
),
measures AS MATERIALIZED (
    -- Materialized, as is scored: each is computed once per student, not again in every
    -- expression of the steps after it that names it.
    SELECT
        st.user_id,
        st.course_id,
        st.current_score,
        st.last_activity_at,
        mo.clock,
        mo.due,
        mo.missing,
        mo.submitted,
        mo.late,
        mo.points,
        mo.slope,
        mo.slope_per_week,
        mo.r2,
        mo.trend,
        mo.missing::numeric / NULLIF(mo.due, 0) AS missing_ratio,
        mo.late::numeric / NULLIF(mo.submitted, 0) AS late_ratio,
        CASE WHEN st.last_activity_at IS NOT NULL
             THEN greatest(extract(epoch FROM mo.clock - st.last_activity_at) / 86400, 0) END AS days_inactive
    FROM students AS st
    JOIN canvas.student_work(course_ids) AS mo ON mo.user_id = st.user_id AND mo.course_id = st.course_id
),
risks AS (
    -- Each factor's risk in [0, 1]; NULL when its value is unknown (GREATEST and LEAST
    -- would skip a NULL argument, hence the CASEs).
    SELECT
        m.*,
        CASE WHEN m.current_score IS NOT NULL
             THEN greatest(0, least(1, (90 - m.current_score) / 40)) END AS score_risk,
        CASE
            WHEN m.points < 3 THEN NULL
            WHEN m.trend = 'declining' THEN greatest(0, least(1, -m.slope::numeric / 5))
            ELSE 0
        END AS momentum_risk,
        CASE WHEN m.missing_ratio IS NOT NULL
             THEN greatest(0, least(1, m.missing_ratio / 0.4)) END AS missing_risk,
        CASE WHEN m.late_ratio IS NOT NULL
             THEN greatest(0, least(1, m.late_ratio / 0.5)) END AS late_risk,
        CASE WHEN m.days_inactive IS NOT NULL
             THEN greatest(0, least(1, (m.days_inactive - 3) / 11)) END AS inactivity_risk
    FROM measures AS m
),
scored AS MATERIALIZED (
    SELECT
        r.*,
        w.score * coalesce(r.score_risk, 0)
            + w.momentum * coalesce(r.momentum_risk, 0)
            + w.missing * coalesce(r.missing_risk, 0)
            + w.late * coalesce(r.late_risk, 0)
            + w.inactivity * coalesce(r.inactivity_risk, 0) AS risk,
        w.score * (r.score_risk IS NOT NULL)::int
            + w.momentum * (r.momentum_risk IS NOT NULL)::int
            + w.missing * (r.missing_risk IS NOT NULL)::int
            + w.late * (r.late_risk IS NOT NULL)::int
            + w.inactivity * (r.inactivity_risk IS NOT NULL)::int AS confidence
    FROM risks AS r
    CROSS JOIN canvas.risk_weights() AS w
)
SELECT
    sc.user_id,
    sc.course_id,
    round(sc.risk, 3),
    CASE
        WHEN sc.risk >= 0.75 THEN 'critical'
        WHEN sc.risk >= 0.5 THEN 'high'
        WHEN sc.risk >= 0.25 THEN 'medium'
        ELSE 'low'
    END,
    round(sc.confidence, 2),
    array_remove(ARRAY[
        CASE WHEN sc.score_risk >= 0.5
             THEN format('current score %s%%', round(sc.current_score, 1)) END,
        CASE WHEN sc.trend = 'declining'
             THEN format('declining %s points a week', round(-sc.slope::numeric, 1)) END,
        CASE WHEN sc.missing_risk >= 0.5
             THEN format('%s of %s due assignments missing', sc.missing, sc.due) END,
        CASE WHEN sc.late_risk >= 0.5
             THEN format('%s of %s submissions late', sc.late, sc.submitted) END,
        CASE WHEN sc.inactivity_risk >= 0.5
             THEN format('no activity for %s days', floor(sc.days_inactive)) END
    ], NULL),
    sc.current_score,
    sc.trend,
    sc.slope_per_week,
    sc.r2,
    sc.points,
    sc.due,
    sc.missing,
    round(sc.missing_ratio, 3),
    sc.submitted,
    sc.late,
    round(sc.late_ratio, 3),
    round(sc.days_inactive, 1),
    sc.last_activity_at,
    sc.clock,
    round(sc.score_risk, 3),
    round(sc.momentum_risk, 3),
    round(sc.missing_risk, 3),
    round(sc.late_risk, 3),
    round(sc.inactivity_risk, 3)
FROM scored AS sc
$$;

COMMENT ON FUNCTION canvas.student_risk(bigint[]) IS
    'Risk score (model risk-v1), category, reasons and factors of each active student of each course of course_ids (NULL: every course).';

DROP TABLE history.risk_model_activations;

DROP TABLE history.risk_models;
