-- Rules: how much each student is at risk in a course, and why: by the hand-set weights
-- of model risk-v1, or by a model learned from the school's past terms (tracker risk fit).
--
-- canvas.risk_weights(): the weight of each factor, one row of five columns that add up
-- to 1. The only place the weights are written: canvas.student_risk reads them, and so
-- does Python (tracker.analytics.risk_weights, the weight of each RiskFactor).
--
-- canvas.student_risk(course_ids): the risk of every active student of each course of
-- course_ids (NULL: every course) by the active model (canvas.risk_model), which it
-- names in model_version. Read by sql/reports/at_risk_students.sql, which adds names
-- and order, and by the statement that records assessments in layer 2
-- (sql/history/analytics.sql). A SQL function of one SELECT, STABLE: PostgreSQL inlines
-- it into the query that calls it, so a constant course_ids reaches the scans beneath
-- as if written there.
--
-- canvas.student_risk_as_of(course_ids, as_of_week, model_version): the same, for the
-- students of canvas.student_factors_as_of (sql/rules/momentum.sql) N weeks into each
-- course, by the model named (NULL: the active one). What tracker risk fit learns from
-- and tracker risk evaluate measures (tracker/risk_models.py), on completed courses.
--
-- canvas.risk_model(model_version): the model's parameters, one row: NULL, the active
-- model (the newest row of history.risk_model_activations; none, or a NULL version:
-- risk-v1); 'risk-v1'; or a version of history.risk_models (no row if there is none).
--
-- canvas.assess_risk(model..., factors...): one student's risk by a model: the one
-- place both functions above score, categorise (canvas.risk_category, which tracker
-- risk fit applies to its held-out scores too) and explain.
--
-- canvas.risk_features(...): the five factors as a fitted model reads them, each
-- bounded so that an outlier cannot swamp the others (NULL: unknown):
--
--   score        the current score, within [0, 100]
--   momentum     the slope in points a week, within [-10, 10]; with 3 points or more
--   missing      missing / due
--   late         late / submitted
--   inactivity   days since last activity, at most 30
--
-- Model risk-v1 (no coefficients) -------------------------------------------------
--
-- One row per active student and course; category 'low' means not at risk. The risk
-- score in [0, 1] is a weighted sum of five factors, each first turned into a risk in
-- [0, 1]:
--
--   factor       risk 0 ... risk 1                       value
--   score        >= 90 ... <= 50 (linear)                Canvas current score (%)
--   momentum     not declining ... -5 points/week        slope, when trend is declining
--   missing      0% ... >= 40% of due work missing       missing / due
--   late         0% ... >= 50% of handed-in work late    late / submitted
--   inactivity   <= 3 days ... >= 14 days                days since last activity
--
-- A factor whose value is unknown (no current score, fewer than three graded points in
-- the momentum window, nothing due or handed in yet, no activity data) adds nothing,
-- and confidence is the sum of the weights of the factors that were known. Categories:
-- low < 0.25 <= medium < 0.5 <= high < 0.75 <= critical. reasons names each factor
-- whose risk is 0.5 or more (score <= 70, missing >= 20%, late >= 25%, 8.5 days or
-- more without activity) and a declining trend.
--
-- A fitted model (history.risk_models, learned by tracker risk fit) ----------------
--
-- The risk score is the probability of failing the course, by a logistic regression
-- over the features above: each standardised, z = (feature - center) / scale, an
-- unknown one taking z = 0 (the training mean); log-odds = intercept + sum of
-- coefficient * z; risk = 1 / (1 + exp(-log-odds)). Each factor's contribution is its
-- coefficient * z (log-odds; positive raises the risk). Categories are the model's
-- probability bands: low < bands[1] <= medium < bands[2] <= high < bands[3] <= critical
-- (tracker risk fit --bands; default 0.15, 0.3, 0.5). reasons names, most first, up to
-- three factors that add 0.25 or more to the log-odds (about a 28% rise in the odds), in
-- risk-v1's words. confidence is the share of the coefficients' weight (their absolute
-- values) whose factors were known.
--
-- Time is the course's clock: the latest activity of any active student of the course
-- (else now). Work is due when its due date (the student's own, else the
-- assignment's) is at or before the clock, or Canvas marked it missing. The work and
-- momentum are canvas.student_work's (sql/rules/momentum.sql).
--
-- Left out: the test student, enrollments that are not active, objects marked missing
-- in layer 0, excused work, assignments that are not graded, omitted from the final
-- grade or unpublished.
--
-- Applied by migrations 0011_rules and 0014_risk_models with the other files of sql/rules
-- (tracker/rules.py).

-- name: risk_weights
-- The weight of each risk factor.
CREATE OR REPLACE FUNCTION canvas.risk_weights()
RETURNS TABLE (
    score numeric,
    momentum numeric,
    missing numeric,
    late numeric,
    inactivity numeric
)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT
    0.35 AS score,
    0.20 AS momentum,
    0.25 AS missing,
    0.10 AS late,
    0.10 AS inactivity
$$;

-- name: describe_risk_weights
-- Its comment.
COMMENT ON FUNCTION canvas.risk_weights() IS
    'The weight of each factor of canvas.student_risk (model risk-v1); they add up to 1.';


-- name: risk_features
-- The five factors as a fitted model reads them, bounded (NULL: unknown).
CREATE OR REPLACE FUNCTION canvas.risk_features(
    current_score numeric,
    points bigint,
    slope double precision,
    missing_ratio numeric,
    late_ratio numeric,
    days_inactive numeric
)
RETURNS double precision[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT ARRAY[
    least(greatest(current_score, 0), 100)::double precision,
    CASE WHEN points >= 3 THEN least(greatest(slope, -10), 10) END,
    missing_ratio::double precision,
    late_ratio::double precision,
    least(days_inactive, 30)::double precision
]
$$;

-- name: describe_risk_features
-- Its comment.
COMMENT ON FUNCTION canvas.risk_features(numeric, bigint, double precision, numeric, numeric, numeric) IS
    'The risk factors score, momentum, missing, late and inactivity as a fitted risk model reads them, bounded (NULL: unknown).';

-- name: risk_category
-- The category of a risk score by a model's bands: where medium, high and critical begin.
CREATE OR REPLACE FUNCTION canvas.risk_category(risk numeric, bands numeric[])
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT CASE
    WHEN risk >= bands[3] THEN 'critical'
    WHEN risk >= bands[2] THEN 'high'
    WHEN risk >= bands[1] THEN 'medium'
    ELSE 'low'
END
$$;

-- name: describe_risk_category
-- Its comment.
COMMENT ON FUNCTION canvas.risk_category(numeric, numeric[]) IS
    'The category of a risk score by a model''s bands (where medium, high and critical begin): low, medium, high or critical.';

-- name: risk_model
-- The parameters of a model: NULL, the active one; 'risk-v1'; or a fitted version.
CREATE OR REPLACE FUNCTION canvas.risk_model(model_version text DEFAULT NULL)
RETURNS TABLE (
    version text,
    coefficients double precision[],
    centers double precision[],
    scales double precision[],
    intercept double precision,
    bands numeric[]
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
WITH chosen AS (
    SELECT coalesce(
        model_version,
        (SELECT a.version
         FROM history.risk_model_activations AS a
         ORDER BY a.id DESC
         LIMIT 1),
        'risk-v1'
    ) AS version
)
SELECT
    m.version,
    m.coefficients,
    m.centers,
    m.scales,
    m.intercept,
    m.bands
FROM chosen AS ch
JOIN history.risk_models AS m ON m.version = ch.version
UNION ALL
SELECT
    'risk-v1',
    NULL,
    NULL,
    NULL,
    NULL,
    ARRAY[0.25, 0.5, 0.75]
FROM chosen AS ch
WHERE ch.version = 'risk-v1'
$$;

-- name: describe_risk_model
-- Its comment.
COMMENT ON FUNCTION canvas.risk_model(text) IS
    'The parameters of a risk model, one row: NULL, the active model (risk-v1 unless tracker risk activate chose a fitted one); risk-v1; or a version of history.risk_models.';

-- name: assess_risk
-- One student's risk score, category, confidence and reasons by a model.
CREATE OR REPLACE FUNCTION canvas.assess_risk(
    coefficients double precision[],
    centers double precision[],
    scales double precision[],
    intercept double precision,
    bands numeric[],
    current_score numeric,
    points bigint,
    trend text,
    slope double precision,
    missing_ratio numeric,
    late_ratio numeric,
    days_inactive numeric,
    due bigint,
    missing bigint,
    submitted bigint,
    late bigint
)
RETURNS TABLE (
    risk_score numeric,
    category text,
    confidence numeric,
    reasons text[],
    score_risk numeric,
    momentum_risk numeric,
    missing_risk numeric,
    late_risk numeric,
    inactivity_risk numeric,
    contributions jsonb
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT
    round(s.risk::numeric, 3),
    canvas.risk_category(s.risk, bands),
    round(s.confidence::numeric, 2),
    CASE
        WHEN coefficients IS NULL THEN array_remove(ARRAY[
            CASE WHEN v.score_risk >= 0.5 THEN t.score END,
            CASE WHEN trend = 'declining' THEN t.momentum END,
            CASE WHEN v.missing_risk >= 0.5 THEN t.missing END,
            CASE WHEN v.late_risk >= 0.5 THEN t.late END,
            CASE WHEN v.inactivity_risk >= 0.5 THEN t.inactivity END
        ], NULL)
        WHEN (p.score >= 0.25)::int + (p.momentum >= 0.25)::int + (p.missing >= 0.25)::int
             + (p.late >= 0.25)::int + (p.inactivity >= 0.25)::int <= 1
        THEN array_remove(ARRAY[
            CASE WHEN p.score >= 0.25 THEN t.score END,
            CASE WHEN p.momentum >= 0.25 THEN t.momentum END,
            CASE WHEN p.missing >= 0.25 THEN t.missing END,
            CASE WHEN p.late >= 0.25 THEN t.late END,
            CASE WHEN p.inactivity >= 0.25 THEN t.inactivity END
        ], NULL)
        ELSE ARRAY(  -- two or more: most first (most students have none or one)
            SELECT x.reason
            FROM (VALUES
                (p.score, t.score),
                (p.momentum, t.momentum),
                (p.missing, t.missing),
                (p.late, t.late),
                (p.inactivity, t.inactivity)
            ) AS x(part, reason)
            WHERE x.part >= 0.25
            ORDER BY x.part DESC
            LIMIT 3
        )
    END,
    round(v.score_risk, 3),
    round(v.momentum_risk, 3),
    round(v.missing_risk, 3),
    round(v.late_risk, 3),
    round(v.inactivity_risk, 3),
    jsonb_build_object(
        'score', round(p.score::numeric, 3),
        'momentum', round(p.momentum::numeric, 3),
        'missing', round(p.missing::numeric, 3),
        'late', round(p.late::numeric, 3),
        'inactivity', round(p.inactivity::numeric, 3)
    )
FROM (
    -- risk-v1's risk of each factor in [0, 1]; NULL when its value is unknown (GREATEST
    -- and LEAST would skip a NULL argument, hence the CASEs).
    SELECT
        CASE WHEN current_score IS NOT NULL
             THEN greatest(0, least(1, (90 - current_score) / 40)) END AS score_risk,
        CASE
            WHEN points < 3 THEN NULL
            WHEN trend = 'declining' THEN greatest(0, least(1, -slope::numeric / 5))
            ELSE 0
        END AS momentum_risk,
        CASE WHEN missing_ratio IS NOT NULL
             THEN greatest(0, least(1, missing_ratio / 0.4)) END AS missing_risk,
        CASE WHEN late_ratio IS NOT NULL
             THEN greatest(0, least(1, late_ratio / 0.5)) END AS late_risk,
        CASE WHEN days_inactive IS NOT NULL
             THEN greatest(0, least(1, (days_inactive - 3) / 11)) END AS inactivity_risk,
        canvas.risk_features(current_score, points, slope, missing_ratio, late_ratio,
                             days_inactive) AS f
) AS v
CROSS JOIN canvas.risk_weights() AS w
CROSS JOIN LATERAL (
    -- Each factor's contribution: risk-v1, weight * risk; a fitted model,
    -- coefficient * z (log-odds), z = 0 when unknown.
    SELECT
        CASE WHEN coefficients IS NULL THEN w.score * coalesce(v.score_risk, 0)
             ELSE (coefficients[1] * coalesce((v.f[1] - centers[1]) / scales[1], 0))::numeric END AS score,
        CASE WHEN coefficients IS NULL THEN w.momentum * coalesce(v.momentum_risk, 0)
             ELSE (coefficients[2] * coalesce((v.f[2] - centers[2]) / scales[2], 0))::numeric END AS momentum,
        CASE WHEN coefficients IS NULL THEN w.missing * coalesce(v.missing_risk, 0)
             ELSE (coefficients[3] * coalesce((v.f[3] - centers[3]) / scales[3], 0))::numeric END AS missing,
        CASE WHEN coefficients IS NULL THEN w.late * coalesce(v.late_risk, 0)
             ELSE (coefficients[4] * coalesce((v.f[4] - centers[4]) / scales[4], 0))::numeric END AS late,
        CASE WHEN coefficients IS NULL THEN w.inactivity * coalesce(v.inactivity_risk, 0)
             ELSE (coefficients[5] * coalesce((v.f[5] - centers[5]) / scales[5], 0))::numeric END AS inactivity
    OFFSET 0  -- each of p and s once per student: pulled up into what follows, a step
              -- is evaluated again wherever it is named (the logistic up to 4 times)
) AS p
CROSS JOIN LATERAL (
    -- The risk and the confidence.
    SELECT
        CASE WHEN coefficients IS NULL
             THEN p.score + p.momentum + p.missing + p.late + p.inactivity
             ELSE (1 / (1 + exp(-(intercept + (p.score + p.momentum + p.missing + p.late
                                                 + p.inactivity)::double precision))))::numeric
        END AS risk,
        CASE WHEN coefficients IS NULL
             THEN w.score * (v.score_risk IS NOT NULL)::int
                  + w.momentum * (v.momentum_risk IS NOT NULL)::int
                  + w.missing * (v.missing_risk IS NOT NULL)::int
                  + w.late * (v.late_risk IS NOT NULL)::int
                  + w.inactivity * (v.inactivity_risk IS NOT NULL)::int
             ELSE ((abs(coefficients[1]) * (v.f[1] IS NOT NULL)::int
                   + abs(coefficients[2]) * (v.f[2] IS NOT NULL)::int
                   + abs(coefficients[3]) * (v.f[3] IS NOT NULL)::int
                   + abs(coefficients[4]) * (v.f[4] IS NOT NULL)::int
                   + abs(coefficients[5]) * (v.f[5] IS NOT NULL)::int)
                  / NULLIF(abs(coefficients[1]) + abs(coefficients[2]) + abs(coefficients[3])
                           + abs(coefficients[4]) + abs(coefficients[5]), 0))::numeric
        END AS confidence
    OFFSET 0
) AS s
CROSS JOIN LATERAL (
    -- Each factor's reason, in risk-v1's words.
    SELECT
        format('current score %s%%', round(current_score, 1)) AS score,
        CASE WHEN slope < 0
             THEN format('declining %s points a week', round(-slope::numeric, 1))
             ELSE format('grades moving %s points a week', round(slope::numeric, 1))
        END AS momentum,
        format('%s of %s due assignments missing', assess_risk.missing, due) AS missing,
        format('%s of %s submissions late', assess_risk.late, submitted) AS late,
        format('no activity for %s days', floor(days_inactive)) AS inactivity
) AS t
$$;

-- name: describe_assess_risk
-- Its comment.
COMMENT ON FUNCTION canvas.assess_risk(double precision[], double precision[], double precision[], double precision, numeric[], numeric, bigint, text, double precision, numeric, numeric, numeric, bigint, bigint, bigint, bigint) IS
    'One student''s risk score, category, confidence, reasons and factor contributions by a model (its coefficients, centers, scales, intercept and bands; NULL coefficients: risk-v1).';

-- name: student_risk
-- Risk score, category, confidence, reasons and factors per active student and course.
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
    inactivity_risk numeric,
    model_version text,
    contributions jsonb
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
WITH measures AS MATERIALIZED (
    -- Materialized: each measure is computed once per student, not again in every
    -- expression of the assessment that names it.
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
    FROM canvas.student_courses AS st
    JOIN canvas.student_work(course_ids) AS mo ON mo.user_id = st.user_id AND mo.course_id = st.course_id
    WHERE (course_ids IS NULL OR st.course_id = ANY(course_ids))
),
model AS MATERIALIZED (
    -- Once, not again for every student.
    SELECT * FROM canvas.risk_model(NULL)
)
SELECT
    m.user_id,
    m.course_id,
    a.risk_score,
    a.category,
    a.confidence,
    a.reasons,
    m.current_score,
    m.trend,
    m.slope_per_week,
    m.r2,
    m.points,
    m.due,
    m.missing,
    round(m.missing_ratio, 3),
    m.submitted,
    m.late,
    round(m.late_ratio, 3),
    round(m.days_inactive, 1),
    m.last_activity_at,
    m.clock,
    a.score_risk,
    a.momentum_risk,
    a.missing_risk,
    a.late_risk,
    a.inactivity_risk,
    md.version,
    a.contributions
FROM measures AS m
CROSS JOIN model AS md
CROSS JOIN LATERAL canvas.assess_risk(
    md.coefficients, md.centers, md.scales, md.intercept, md.bands,
    m.current_score, m.points, m.trend, m.slope, m.missing_ratio, m.late_ratio,
    m.days_inactive, m.due, m.missing, m.submitted, m.late
) AS a
$$;

-- name: describe_student_risk
-- Its comment.
COMMENT ON FUNCTION canvas.student_risk(bigint[]) IS
    'Risk score, category, reasons and factors of each active student of each course of course_ids (NULL: every course), by the active model (model_version).';

-- name: student_risk_as_of
-- Risk score and category per student and course N weeks into the course, by a model.
CREATE OR REPLACE FUNCTION canvas.student_risk_as_of(
    course_ids bigint[],
    as_of_week integer,
    model_version text DEFAULT NULL
)
RETURNS TABLE (
    user_id bigint,
    course_id bigint,
    as_of timestamptz,
    model_version text,
    risk_score numeric,
    category text,
    confidence numeric,
    reasons text[],
    current_score numeric,
    features double precision[]
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT
    f.user_id,
    f.course_id,
    f.as_of,
    md.version,
    a.risk_score,
    a.category,
    a.confidence,
    a.reasons,
    f.current_score,
    canvas.risk_features(f.current_score, f.points, f.slope, f.missing_ratio, f.late_ratio,
                         f.days_inactive)
FROM canvas.student_factors_as_of(course_ids, as_of_week) AS f
CROSS JOIN (SELECT * FROM canvas.risk_model(model_version) OFFSET 0) AS md  -- once
CROSS JOIN LATERAL canvas.assess_risk(
    md.coefficients, md.centers, md.scales, md.intercept, md.bands,
    f.current_score, f.points, f.trend, f.slope, f.missing_ratio, f.late_ratio,
    f.days_inactive, f.due, f.missing, f.submitted, f.late
) AS a
$$;

-- name: describe_student_risk_as_of
-- Its comment.
COMMENT ON FUNCTION canvas.student_risk_as_of(bigint[], integer, text) IS
    'Risk score, category, reasons and the features a fitted model reads, of each student of each course of course_ids (NULL: every course) as of N weeks after its start (NULL: its clock), by the model named (NULL: the active one).';
