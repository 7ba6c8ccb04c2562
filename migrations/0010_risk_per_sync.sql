-- Each sync keeps the risk of the students of the courses it changed, and one definition
-- of that risk serves the report, the sync and a program.
--
-- history.risk_assessments.sync_id: the sync that recorded an assessment, as course
-- snapshots carry theirs; null when a program recorded it (tracker.analytics.
-- record_risk_assessments). Undoing the sync removes what it appended.
--
-- canvas.student_risk(course_ids): the risk of every active student of each course of
-- course_ids (NULL: every course), model risk-v1 (tracker.analytics.RISK_MODEL: change
-- its name with the rules). Read by sql/reports/at_risk_students.sql, which adds names
-- and order, and by the statement that records assessments in layer 2
-- (sql/history/analytics.sql), which used to be handed the report's rows back from
-- Python. A SQL function of one SELECT, STABLE: PostgreSQL inlines it into the query
-- that calls it, so a constant course_ids reaches the scans beneath as if written there.
--
-- One row per active student and course; category 'low' means not at risk. The risk score in [0, 1] is a weighted sum of five factors, each first
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
--
-- Left out: the test student, enrollments that are not active, objects marked missing
-- in layer 0, excused work, assignments that are not graded, omitted from the final
-- grade or unpublished.
-- depends: 0009_course_figures

ALTER TABLE history.risk_assessments ADD COLUMN sync_id bigint;

COMMENT ON COLUMN history.risk_assessments.sync_id IS
    'The sync that recorded the assessment (after writing the course''s changes); null: recorded by a program.';

CREATE FUNCTION canvas.student_risk(course_ids bigint[])
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
clocks AS NOT MATERIALIZED (
    -- Read from the enrollments again rather than from students: a query that reads a
    -- materialized CTE cannot be run by parallel workers, and work below is the one
    -- that reads every submission.
    SELECT
        e.course_id,
        least(coalesce(max(e.last_activity_at), now()), now()) AS clock,
        least(coalesce(max(e.last_activity_at), now()), now()) - interval '8 weeks' AS momentum_start
    FROM canvas.active_students AS e
    WHERE (course_ids IS NULL OR e.course_id = ANY(course_ids))
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
    WHERE (course_ids IS NULL OR s.course_id = ANY(course_ids))
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
    CASE WHEN sc.points >= 3 THEN round(sc.slope::numeric, 2) END,
    CASE WHEN sc.points >= 3 THEN round(sc.r2::numeric, 3) END,
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
