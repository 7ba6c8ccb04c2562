-- Statements behind tracker.risk_models (tracker risk fit, evaluate, models, activate):
-- the risk of past courses' students as of a week beside how their enrollment ended,
-- and what is measured of it; the models learned, and which one is active.
--
-- A measurement fills pg_temp.risk_scored, dropped at the end of its transaction: one
-- row per model (or baseline) and completed enrollment still in its course at the week,
-- its score (a higher score, more at risk) and whether it failed
-- (canvas.enrollment_outcomes: failing_grades, pass_mark, withdrawn_ok).

-- name: completed_courses
-- The completed courses whose enrollments have an outcome.
SELECT coalesce(array_agg(DISTINCT o.course_id ORDER BY o.course_id), '{}') AS course_ids
FROM canvas.enrollment_outcomes(:'failing_grades'::text[], :'pass_mark'::numeric,
                                :'withdrawn_ok'::boolean) AS o;

-- name: drop_scored
-- A measurement's table, gone (an earlier one of the same transaction left it).
DROP TABLE IF EXISTS pg_temp.risk_scored;

-- name: create_scored
-- The table a measurement fills.
CREATE TEMPORARY TABLE risk_scored (
    model         text NOT NULL,
    user_id       bigint NOT NULL,
    course_id     bigint NOT NULL,
    term_id       bigint,
    failed        boolean NOT NULL,
    score         numeric NOT NULL,
    category      text,
    current_score numeric,
    features      double precision[]
) ON COMMIT DROP;

-- name: score_as_of
-- Score the students of course_ids as of a week by a model (its name: model_version),
-- each beside how their enrollment ended.
INSERT INTO pg_temp.risk_scored (
    model, user_id, course_id, term_id, failed, score, category, current_score, features
)
SELECT
    r.model_version,
    r.user_id,
    r.course_id,
    c.enrollment_term_id,
    o.failed,
    r.risk_score,
    r.category,
    r.current_score,
    r.features
FROM canvas.student_risk_as_of(:'course_ids'::bigint[], :'as_of_week'::integer,
                               :'model_version'::text) AS r
JOIN canvas.enrollment_outcomes(:'failing_grades'::text[], :'pass_mark'::numeric,
                                :'withdrawn_ok'::boolean) AS o
    ON o.user_id = r.user_id AND o.course_id = r.course_id
JOIN canvas.courses AS c ON c.id = r.course_id;

-- name: score_current_score_alone
-- The baseline every model must beat: the current score alone (lower, more at risk; no
-- score yet counts as nothing earned, as canvas.enrollment_outcomes counts it).
INSERT INTO pg_temp.risk_scored (model, user_id, course_id, term_id, failed, score, current_score)
SELECT
    'current score alone',
    s.user_id,
    s.course_id,
    s.term_id,
    s.failed,
    100 - least(greatest(coalesce(s.current_score, 0), 0), 100),
    s.current_score
FROM pg_temp.risk_scored AS s
WHERE s.model = 'risk-v1';

-- name: training_rows
-- What tracker risk fit learns from: risk-v1's rows, their features and outcome.
SELECT
    s.user_id,
    s.course_id,
    s.term_id,
    s.failed,
    s.features
FROM pg_temp.risk_scored AS s
WHERE s.model = 'risk-v1'
ORDER BY s.course_id, s.user_id;

-- name: copy_held_out
-- Receive the scores tracker risk fit's folds gave the students of the courses they held
-- out (model 'held out'), to be measured as the others are.
COPY pg_temp.risk_scored (model, user_id, course_id, term_id, failed, score) FROM STDIN;

-- name: categorise_held_out
-- The held-out scores' categories, by the bands the model is fitted with.
UPDATE pg_temp.risk_scored AS s
SET category = canvas.risk_category(s.score, :'bands'::numeric[])
WHERE s.model = 'held out';

-- name: areas_under_curve
-- Per model: enrollments, failures, and the area under the ROC curve: the chance that a
-- student who failed scored higher than one who passed (ties count half), from the
-- ranks of the scores (Mann-Whitney).
WITH ranked AS (
    SELECT
        s.model,
        s.failed,
        rank() OVER w + (count(*) OVER (PARTITION BY s.model, s.score) - 1) / 2.0 AS midrank
    FROM pg_temp.risk_scored AS s
    WINDOW w AS (PARTITION BY s.model ORDER BY s.score)
),
totals AS (
    SELECT
        r.model,
        count(*) AS enrollments,
        count(*) FILTER (WHERE r.failed) AS failures,
        sum(r.midrank) FILTER (WHERE r.failed) AS failed_ranks
    FROM ranked AS r
    GROUP BY r.model
)
SELECT
    t.model,
    t.enrollments,
    t.failures,
    round((t.failed_ranks - t.failures * (t.failures + 1) / 2.0)
          / NULLIF(t.failures * (t.enrollments - t.failures), 0), 3) AS auc
FROM totals AS t
ORDER BY t.model;

-- name: categories
-- Per model and category (and high and critical together): how many students it holds,
-- how many of them failed, its precision (the share of them that failed) and recall
-- (the share of all who failed that it holds).
WITH grouped AS (
    SELECT
        s.model,
        g.category,
        count(*) AS students,
        count(*) FILTER (WHERE s.failed) AS failed
    FROM pg_temp.risk_scored AS s
    CROSS JOIN LATERAL (
        SELECT s.category
        UNION ALL
        SELECT 'high+critical' WHERE s.category IN ('high', 'critical')
    ) AS g
    WHERE s.category IS NOT NULL
    GROUP BY s.model, g.category
),
failures AS (
    SELECT s.model, count(*) FILTER (WHERE s.failed) AS failures
    FROM pg_temp.risk_scored AS s
    GROUP BY s.model
)
SELECT
    g.model,
    g.category,
    g.students,
    g.failed,
    round(g.failed::numeric / NULLIF(g.students, 0), 3) AS precision,
    round(g.failed::numeric / NULLIF(f.failures, 0), 3) AS recall
FROM grouped AS g
JOIN failures AS f ON f.model = g.model
ORDER BY g.model, array_position(ARRAY['low', 'medium', 'high', 'critical', 'high+critical'], g.category);

-- name: calibration
-- Per model: its students in ten equal groups by score (deciles), each group's mean
-- score beside the share of it that failed. A calibrated probability matches the two.
SELECT
    d.model,
    d.decile,
    count(*) AS students,
    round(avg(d.score), 3) AS mean_score,
    round(avg(d.failed::int), 3) AS failure_rate
FROM (
    SELECT
        s.model,
        s.score,
        s.failed,
        ntile(10) OVER (PARTITION BY s.model ORDER BY s.score) AS decile
    FROM pg_temp.risk_scored AS s
) AS d
GROUP BY d.model, d.decile
ORDER BY d.model, d.decile;

-- name: insert_model
-- Store a fitted model.
INSERT INTO history.risk_models (
    version, factors, coefficients, centers, scales, intercept, bands, as_of_week,
    failing_grades, pass_mark, withdrawn_ok, terms, courses, enrollments, failures, heldout
)
VALUES (
    :'version', :'factors'::text[], :'coefficients'::double precision[],
    :'centers'::double precision[], :'scales'::double precision[],
    :'intercept'::double precision, :'bands'::numeric[], :'as_of_week'::integer,
    :'failing_grades'::text[], :'pass_mark'::numeric, :'withdrawn_ok'::boolean,
    :'terms'::bigint[], :'courses'::bigint[], :'enrollments'::integer,
    :'failures'::integer, :'heldout'::jsonb
);

-- name: activate
-- Make a model the active one (NULL: back to risk-v1).
INSERT INTO history.risk_model_activations (version)
VALUES (NULLIF(:'version'::text, 'risk-v1'));

-- name: active_model
-- The active model's name.
SELECT m.version FROM canvas.risk_model(NULL) AS m;

-- name: models
-- Every fitted model, newest first, and whether it is the active one.
SELECT
    m.version,
    m.version = (SELECT a.version FROM canvas.risk_model(NULL) AS a) AS active,
    m.created_at,
    m.as_of_week,
    cardinality(m.courses) AS courses,
    m.enrollments,
    m.failures,
    (m.heldout ->> 'auc')::numeric AS heldout_auc,
    (m.heldout ->> 'risk_v1_auc')::numeric AS risk_v1_auc,
    (m.heldout ->> 'current_score_auc')::numeric AS current_score_auc,
    m.bands,
    m.courses AS course_ids,
    m.factors,
    m.coefficients,
    m.intercept
FROM history.risk_models AS m
ORDER BY m.created_at DESC, m.version;
