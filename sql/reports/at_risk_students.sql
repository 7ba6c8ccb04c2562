-- At-risk students: who needs help, how urgently, and why.
--
-- Run:   psql -X -v ON_ERROR_STOP=1 -v course_id=42 -f sql/reports/at_risk_students.sql
-- Takes: -v course_id=ID   one course; empty (course_id=) for every course
-- The variable must be given (psql leaves an unset :'course_id' in the text).
--
-- One row per active student and course, most at risk first; category 'low' means not
-- at risk. The risk score in [0, 1] is a weighted sum of five factors, each first
-- turned into a risk in [0, 1]:
--
--   factor       weight  risk 0 ... risk 1                       value
--   score         0.35   >= 90 ... <= 50 (linear)                Canvas current score (%)
--   momentum      0.20   not declining ... -5 points/week        slope, when trend is declining
--   missing       0.25   0% ... >= 40% of due work missing       missing / due
--   late          0.10   0% ... >= 50% of handed-in work late    late / submitted
--   inactivity    0.10   <= 3 days ... >= 14 days                days since last activity
--
-- A factor whose value is unknown (no current score, fewer than three graded points in
-- the momentum window, nothing due or handed in yet, no activity data) adds nothing,
-- and confidence is the sum of the weights of the factors that were known. Categories:
-- low < 0.25 <= medium < 0.5 <= high < 0.75 <= critical. reasons names each factor
-- whose risk is 0.5 or more (score <= 70, missing >= 20%, late >= 25%, 8.5 days or
-- more without activity) and a declining trend.
--
-- Time is the course's clock: the latest activity of any active student of the course
-- (else now). Work is due when its due date (the student's own, else the
-- assignment's) is at or before the clock, or Canvas marked it missing. Momentum is
-- grade_momentum.sql's: graded percentages in the eight weeks before the clock, slope
-- per week, 'declining' when slope <= -2 and its t statistic >= 2. Keep them in step.
-- The model is tracker.analytics.RISK_MODEL ('risk-v1'); change its name with the rules.
--
-- Left out: the test student, enrollments that are not active, objects marked missing
-- in layer 0, excused work, assignments that are not graded, omitted from the final
-- grade or unpublished.

-- name: at_risk_students
-- Risk score, category, factors and reasons per active student and course, most at risk first.
WITH students AS (
    SELECT
        st.user_id,
        st.course_id,
        st.current_score,
        st.last_activity_at
    FROM canvas.student_courses AS st
    WHERE (NULLIF(:'course_id'::text, '') IS NULL OR st.course_id = NULLIF(:'course_id'::text, '')::bigint)
),
clocks AS NOT MATERIALIZED (
    -- Read from the enrollments again rather than from students: a query that reads a
    -- materialized CTE cannot be run by parallel workers, and work below is the one
    -- that reads every submission.
    SELECT
        e.course_id,
        least(coalesce(max(e.last_activity_at), now()), now()) AS clock,
        least(coalesce(max(e.last_activity_at), now()), now()) - interval '8 weeks' AS momentum_start
    FROM canvas.active_students AS e
    WHERE (NULLIF(:'course_id'::text, '') IS NULL OR e.course_id = NULLIF(:'course_id'::text, '')::bigint)
    GROUP BY e.course_id
),
work AS (
    SELECT
        s.user_id,
        s.course_id,
        coalesce(s.cached_due_date, a.due_at) <= k.clock
            OR coalesce(s.missing, false)
            OR s.late_policy_status IS NOT DISTINCT FROM 'missing' AS is_due,
        coalesce(s.missing, false) OR s.late_policy_status IS NOT DISTINCT FROM 'missing' AS is_missing,
        s.submitted_at IS NOT NULL AS handed_in,
        coalesce(s.late, false) OR s.late_policy_status IS NOT DISTINCT FROM 'late' AS is_late,
        CASE
            WHEN s.workflow_state = 'graded'
             AND s.score IS NOT NULL
             AND a.points_possible > 0
             AND coalesce(s.cached_due_date, a.due_at, s.submitted_at, s.graded_at)
                 > k.momentum_start
            THEN 100 * s.score::float8 / a.points_possible::float8
        END AS percent,
        date_part('epoch', coalesce(s.cached_due_date, a.due_at, s.submitted_at, s.graded_at))
            / 604800 AS week
    FROM canvas.submissions AS s
    JOIN clocks AS k ON k.course_id = s.course_id
    JOIN canvas.graded_assignments AS a ON a.id = s.assignment_id
    WHERE (NULLIF(:'course_id'::text, '') IS NULL OR s.course_id = NULLIF(:'course_id'::text, '')::bigint)
      AND s.excused IS NOT TRUE
),
tallies AS (
    SELECT
        w.user_id,
        w.course_id,
        count(*) FILTER (WHERE w.is_due) AS due,
        count(*) FILTER (WHERE w.is_missing) AS missing,
        count(*) FILTER (WHERE w.handed_in) AS submitted,
        count(*) FILTER (WHERE w.handed_in AND w.is_late) AS late,
        count(w.percent) AS points,
        regr_slope(w.percent, w.week) AS slope,
        regr_r2(w.percent, w.week) AS r2
    FROM work AS w
    GROUP BY w.user_id, w.course_id
),
measures AS MATERIALIZED (
    -- Materialized, as is scored: each is computed once per student, not again in every
    -- expression of the steps after it that names it.
    SELECT
        st.user_id,
        st.course_id,
        st.current_score,
        st.last_activity_at,
        k.clock,
        coalesce(t.due, 0) AS due,
        coalesce(t.missing, 0) AS missing,
        coalesce(t.submitted, 0) AS submitted,
        coalesce(t.late, 0) AS late,
        coalesce(t.points, 0) AS points,
        t.slope,
        t.r2,
        CASE
            WHEN t.points >= 3 AND t.slope <= -2 AND t.r2 * (t.points - 2) >= 4 * (1 - t.r2) THEN 'declining'
            WHEN t.points >= 3 AND t.slope >= 2 AND t.r2 * (t.points - 2) >= 4 * (1 - t.r2) THEN 'improving'
            ELSE 'steady'
        END AS trend,
        t.missing::numeric / NULLIF(t.due, 0) AS missing_ratio,
        t.late::numeric / NULLIF(t.submitted, 0) AS late_ratio,
        CASE WHEN st.last_activity_at IS NOT NULL
             THEN greatest(extract(epoch FROM k.clock - st.last_activity_at) / 86400, 0) END AS days_inactive
    FROM students AS st
    JOIN clocks AS k ON k.course_id = st.course_id
    LEFT JOIN tallies AS t ON t.user_id = st.user_id AND t.course_id = st.course_id
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
        0.35 * coalesce(r.score_risk, 0)
            + 0.20 * coalesce(r.momentum_risk, 0)
            + 0.25 * coalesce(r.missing_risk, 0)
            + 0.10 * coalesce(r.late_risk, 0)
            + 0.10 * coalesce(r.inactivity_risk, 0) AS risk,
        0.35 * (r.score_risk IS NOT NULL)::int
            + 0.20 * (r.momentum_risk IS NOT NULL)::int
            + 0.25 * (r.missing_risk IS NOT NULL)::int
            + 0.10 * (r.late_risk IS NOT NULL)::int
            + 0.10 * (r.inactivity_risk IS NOT NULL)::int AS confidence
    FROM risks AS r
)
SELECT
    sc.user_id,
    u.name AS student,
    u.sis_user_id,
    sc.course_id,
    c.name AS course,
    round(sc.risk, 3) AS risk_score,
    CASE
        WHEN sc.risk >= 0.75 THEN 'critical'
        WHEN sc.risk >= 0.5 THEN 'high'
        WHEN sc.risk >= 0.25 THEN 'medium'
        ELSE 'low'
    END AS category,
    round(sc.confidence, 2) AS confidence,
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
    ], NULL) AS reasons,
    sc.current_score,
    sc.trend,
    CASE WHEN sc.points >= 3 THEN round(sc.slope::numeric, 2) END AS slope_per_week,
    CASE WHEN sc.points >= 3 THEN round(sc.r2::numeric, 3) END AS r2,
    sc.points AS momentum_points,
    sc.due,
    sc.missing,
    round(sc.missing_ratio, 3) AS missing_ratio,
    sc.submitted,
    sc.late,
    round(sc.late_ratio, 3) AS late_ratio,
    round(sc.days_inactive, 1) AS days_inactive,
    sc.last_activity_at,
    sc.clock,
    round(sc.score_risk, 3) AS score_risk,
    round(sc.momentum_risk, 3) AS momentum_risk,
    round(sc.missing_risk, 3) AS missing_risk,
    round(sc.late_risk, 3) AS late_risk,
    round(sc.inactivity_risk, 3) AS inactivity_risk
FROM scored AS sc
JOIN canvas.users AS u ON u.id = sc.user_id
JOIN canvas.courses AS c ON c.id = sc.course_id
ORDER BY sc.risk DESC, u.sortable_name, sc.user_id, c.name, sc.course_id;
