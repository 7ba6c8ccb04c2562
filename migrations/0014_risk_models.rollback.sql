-- The rollback of 0014_risk_models (run by its restore()): drop what it added, and give
-- canvas.student_risk back the text 0011_rules and 0013_outcomes left (model risk-v1
-- alone, its columns as they were), and canvas.student_factors_as_of the text
-- 0013_outcomes gave it (before withdrawn students counted as of a week), copied here as
-- they stood.

DROP FUNCTION canvas.student_risk_as_of(bigint[], integer, text);

DROP FUNCTION canvas.student_risk(bigint[]);

DROP FUNCTION canvas.assess_risk(double precision[], double precision[], double precision[], double precision, numeric[], numeric, bigint, text, double precision, numeric, numeric, numeric, bigint, bigint, bigint, bigint);

DROP FUNCTION canvas.risk_model(text);

DROP FUNCTION canvas.risk_category(numeric, numeric[]);

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

CREATE OR REPLACE FUNCTION canvas.student_factors_as_of(course_ids bigint[], as_of_week integer)
RETURNS TABLE (
    user_id bigint,
    course_id bigint,
    as_of timestamptz,
    current_score numeric,
    score_source text,
    due bigint,
    missing bigint,
    missing_ratio numeric,
    submitted bigint,
    late bigint,
    late_ratio numeric,
    points bigint,
    slope float8,
    slope_per_week numeric,
    r2 numeric,
    trend text,
    mean_percent numeric,
    first_at timestamptz,
    last_at timestamptz,
    recent jsonb,
    last_activity_at timestamptz,
    days_inactive numeric,
    clock timestamptz
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
WITH clocks AS NOT MATERIALIZED (
    -- Not materialized: a query that reads a materialized CTE cannot be run by
    -- parallel workers, and tallies below is the one that reads every submission.
    SELECT
        e.course_id,
        least(coalesce(max(e.last_activity_at), now()), now()) AS clock
    FROM canvas.active_students AS e
    WHERE course_ids IS NULL OR e.course_id = ANY(course_ids)
    GROUP BY e.course_id
),
moments AS NOT MATERIALIZED (
    -- Each course's moment, and whether it is its clock (everything as it stands). As
    -- of a week, a course without active students (a past one) has now for its clock.
    -- Below, "as_of_week IS NULL OR m.at_clock": a constant NULL as_of_week folds it to
    -- true, and with it away what only an earlier moment needs (layer 2's rows).
    SELECT
        k.course_id,
        k.clock,
        k.clock AS as_of,
        true AS at_clock
    FROM clocks AS k
    WHERE as_of_week IS NULL
    UNION ALL
    SELECT
        c.course_id,
        c.clock,
        least(c.start_at + as_of_week * interval '1 week', c.clock),
        c.start_at + as_of_week * interval '1 week' >= c.clock
    FROM (
        SELECT
            co.id AS course_id,
            coalesce(k.clock, now()) AS clock,
            coalesce(co.start_at, (SELECT min(a.due_at)
                                   FROM canvas.graded_assignments AS a
                                   WHERE a.course_id = co.id)) AS start_at
        FROM canvas.courses AS co
        LEFT JOIN clocks AS k ON k.course_id = co.id
        WHERE as_of_week IS NOT NULL
          AND (course_ids IS NULL OR co.id = ANY(course_ids))
    ) AS c
),
students AS (
    -- The active students; as of a week, also the completed ones.
    SELECT
        st.user_id,
        st.course_id,
        st.current_score,
        st.last_activity_at
    FROM canvas.student_courses AS st
    WHERE course_ids IS NULL OR st.course_id = ANY(course_ids)
    UNION ALL
    SELECT
        e.user_id,
        e.course_id,
        (array_agg(e.current_score ORDER BY e.id))[1],
        max(e.last_activity_at)
    FROM canvas.enrollments AS e
    WHERE as_of_week IS NOT NULL
      AND e.type = 'StudentEnrollment'
      AND e.enrollment_state = 'completed'
      AND (course_ids IS NULL OR e.course_id = ANY(course_ids))
      AND NOT EXISTS (
          SELECT 1
          FROM canvas.active_students AS act
          WHERE act.user_id = e.user_id
            AND act.course_id = e.course_id
      )
    GROUP BY e.user_id, e.course_id
),
work AS (
    SELECT
        s.user_id,
        s.course_id,
        s.id AS submission_id,
        coalesce(s.cached_due_date, a.due_at) <= m.as_of
            OR (as_of_week IS NULL OR m.at_clock) AND (coalesce(s.missing, false)
                               OR s.late_policy_status IS NOT DISTINCT FROM 'missing') AS is_due,
        CASE
            WHEN (as_of_week IS NULL OR m.at_clock)
            THEN coalesce(s.missing, false) OR s.late_policy_status IS NOT DISTINCT FROM 'missing'
            ELSE coalesce(s.cached_due_date, a.due_at) <= m.as_of
                 AND (s.submitted_at IS NULL OR s.submitted_at > m.as_of)
        END AS is_missing,
        CASE
            WHEN (as_of_week IS NULL OR m.at_clock) THEN s.submitted_at IS NOT NULL
            ELSE s.submitted_at <= m.as_of
        END AS handed_in,
        CASE
            WHEN (as_of_week IS NULL OR m.at_clock)
            THEN coalesce(s.late, false) OR s.late_policy_status IS NOT DISTINCT FROM 'late'
            ELSE s.submitted_at > coalesce(s.cached_due_date, a.due_at)
        END AS is_late,
        CASE
            WHEN (as_of_week IS NULL OR m.at_clock)
            THEN CASE WHEN s.workflow_state = 'graded' THEN s.score END
            ELSE graded_then.score
        END AS score,
        coalesce(s.cached_due_date, a.due_at, s.submitted_at, s.graded_at) AS dated_at,
        a.points_possible,
        m.as_of
    FROM canvas.submissions AS s
    JOIN moments AS m ON m.course_id = s.course_id
    JOIN canvas.graded_assignments AS a ON a.id = s.assignment_id
    LEFT JOIN LATERAL (
        -- Before the clock, the versions graded by then: recorded by the moment, the
        -- latest; else the first recorded after it (the row itself is the newest). A
        -- join, not a scalar subquery, so that it runs once per submission (the
        -- expressions below that name the score would each run a subquery again).
        SELECT v.score
        FROM (
            SELECT h.score, h.workflow_state, h.graded_at, h.recorded_at, h.id
            FROM history.submission_scores AS h
            WHERE h.submission_id = s.id
            UNION ALL
            SELECT s.score, s.workflow_state, s.graded_at, 'infinity', NULL
        ) AS v
        WHERE v.workflow_state = 'graded'
          AND v.graded_at <= m.as_of
        ORDER BY
            v.recorded_at <= m.as_of DESC,
            CASE WHEN v.recorded_at <= m.as_of THEN v.recorded_at END DESC,
            v.recorded_at,
            v.id
        LIMIT 1
    ) AS graded_then ON NOT (as_of_week IS NULL OR m.at_clock)
    WHERE (course_ids IS NULL OR s.course_id = ANY(course_ids))
      AND s.excused IS NOT TRUE
),
points AS (
    -- Each submission, and its percentage when it is a point (else NULL, which the
    -- aggregates below skip).
    SELECT
        w.*,
        w.score IS NOT NULL
            AND w.points_possible > 0
            AND w.dated_at > w.as_of - interval '8 weeks' AS is_point,
        CASE WHEN w.score IS NOT NULL
                  AND w.points_possible > 0
                  AND w.dated_at > w.as_of - interval '8 weeks'
             THEN round(100 * w.score / w.points_possible, 2) END AS percent,
        CASE WHEN w.score IS NOT NULL
                  AND w.points_possible > 0
                  AND w.dated_at > w.as_of - interval '8 weeks'
             THEN 100 * w.score::float8 / w.points_possible::float8 END AS exact_percent,
        date_part('epoch', w.dated_at) / 604800 AS week
    FROM work AS w
),
tallies AS (
    SELECT
        p.user_id,
        p.course_id,
        count(*) FILTER (WHERE p.is_due) AS due,
        count(*) FILTER (WHERE p.is_missing) AS missing,
        count(*) FILTER (WHERE p.handed_in) AS submitted,
        count(*) FILTER (WHERE p.handed_in AND p.is_late) AS late,
        count(p.percent) AS points,
        regr_slope(p.exact_percent, p.week) AS slope,
        regr_r2(p.exact_percent, p.week) AS r2,
        round(avg(p.percent), 2) AS mean_percent,
        min(p.dated_at) FILTER (WHERE p.is_point) AS first_at,
        max(p.dated_at) FILTER (WHERE p.is_point) AS last_at,
        jsonb_agg(jsonb_build_object('at', p.dated_at, 'percent', p.percent)
                  ORDER BY p.dated_at, p.submission_id) FILTER (WHERE p.is_point) AS recent,
        round(100 * sum(p.score) / NULLIF(sum(p.points_possible) FILTER (WHERE p.score IS NOT NULL), 0), 2)
            AS graded_percent
    FROM points AS p
    GROUP BY p.user_id, p.course_id
)
SELECT
    st.user_id,
    st.course_id,
    m.as_of,
    CASE
        WHEN (as_of_week IS NULL OR m.at_clock) THEN st.current_score
        WHEN g.recorded_at IS NOT NULL THEN g.current_score
        ELSE f.graded_percent
    END,
    CASE
        WHEN (as_of_week IS NULL OR m.at_clock) THEN 'canvas'
        WHEN g.recorded_at IS NOT NULL THEN 'recorded'
        ELSE 'computed'
    END,
    coalesce(f.due, 0),
    coalesce(f.missing, 0),
    f.missing::numeric / NULLIF(f.due, 0),
    coalesce(f.submitted, 0),
    coalesce(f.late, 0),
    f.late::numeric / NULLIF(f.submitted, 0),
    coalesce(f.points, 0),
    f.slope,
    CASE WHEN f.points >= 3 THEN round(f.slope::numeric, 2) END,
    CASE WHEN f.points >= 3 THEN round(f.r2::numeric, 3) END,
    CASE
        WHEN f.points >= 3 AND f.slope >= 2 AND f.r2 * (f.points - 2) >= 4 * (1 - f.r2) THEN 'improving'
        WHEN f.points >= 3 AND f.slope <= -2 AND f.r2 * (f.points - 2) >= 4 * (1 - f.r2) THEN 'declining'
        ELSE 'steady'
    END,
    f.mean_percent,
    f.first_at,
    f.last_at,
    coalesce(f.recent, '[]'::jsonb),
    CASE WHEN (as_of_week IS NULL OR m.at_clock) OR st.last_activity_at <= m.as_of THEN st.last_activity_at END,
    CASE WHEN st.last_activity_at IS NOT NULL AND ((as_of_week IS NULL OR m.at_clock) OR st.last_activity_at <= m.as_of)
         THEN greatest(extract(epoch FROM m.as_of - st.last_activity_at) / 86400, 0) END,
    m.clock
FROM students AS st
JOIN moments AS m ON m.course_id = st.course_id
LEFT JOIN tallies AS f ON f.user_id = st.user_id AND f.course_id = st.course_id
LEFT JOIN LATERAL (
    SELECT
        eg.recorded_at,
        eg.current_score
    FROM history.enrollment_grades AS eg
    WHERE as_of_week IS NOT NULL
      AND NOT m.at_clock
      AND eg.user_id = st.user_id
      AND eg.course_id = st.course_id
      AND eg.recorded_at <= m.as_of
    ORDER BY eg.recorded_at DESC, eg.id DESC
    LIMIT 1
) AS g ON true
$$;

DROP TABLE history.risk_model_activations;

DROP TABLE history.risk_models;
