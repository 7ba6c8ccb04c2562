-- The rollback of 0023_rules_per_student (run by its restore()): give canvas.student_work
-- and canvas.final_projection back the text 0015_projection gave them (0023 counts the
-- momentum's points by is_point, and lets a condition on user_id reach the submissions
-- the projection reads). Their columns are unchanged, so CREATE OR REPLACE does.

CREATE OR REPLACE FUNCTION canvas.student_work(course_ids bigint[])
RETURNS TABLE (
    user_id bigint,
    course_id bigint,
    due bigint,
    missing bigint,
    submitted bigint,
    late bigint,
    points bigint,
    slope float8,
    slope_per_week numeric,
    r2 numeric,
    trend text,
    mean_percent numeric,
    first_at timestamptz,
    last_at timestamptz,
    recent jsonb,
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
work AS (
    SELECT
        s.user_id,
        s.course_id,
        s.id AS submission_id,
        coalesce(s.cached_due_date, a.due_at) <= k.clock
            OR coalesce(s.missing, false)
            OR s.late_policy_status IS NOT DISTINCT FROM 'missing' AS is_due,
        coalesce(s.missing, false) OR s.late_policy_status IS NOT DISTINCT FROM 'missing' AS is_missing,
        s.submitted_at IS NOT NULL AS handed_in,
        coalesce(s.late, false) OR s.late_policy_status IS NOT DISTINCT FROM 'late' AS is_late,
        s.workflow_state = 'graded'
            AND s.score IS NOT NULL
            AND a.points_possible > 0
            AND coalesce(s.cached_due_date, a.due_at, s.submitted_at, s.graded_at)
                > k.clock - interval '8 weeks' AS is_point,
        coalesce(s.cached_due_date, a.due_at, s.submitted_at, s.graded_at) AS dated_at,
        s.score,
        a.points_possible
    FROM canvas.submissions AS s
    JOIN clocks AS k ON k.course_id = s.course_id
    JOIN canvas.graded_assignments AS a ON a.id = s.assignment_id
    WHERE (course_ids IS NULL OR s.course_id = ANY(course_ids))
      AND s.excused IS NOT TRUE
),
points AS (
    -- Each submission, and its percentage when it is a point (else NULL, which the
    -- aggregates below skip).
    SELECT
        w.*,
        CASE WHEN w.is_point THEN round(100 * w.score / w.points_possible, 2) END AS percent,
        CASE WHEN w.is_point THEN 100 * w.score::float8 / w.points_possible::float8 END AS exact_percent,
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
                  ORDER BY p.dated_at, p.submission_id) FILTER (WHERE p.is_point) AS recent
    FROM points AS p
    GROUP BY p.user_id, p.course_id
)
SELECT
    st.user_id,
    st.course_id,
    coalesce(f.due, 0),
    coalesce(f.missing, 0),
    coalesce(f.submitted, 0),
    coalesce(f.late, 0),
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
    k.clock
FROM canvas.student_courses AS st
JOIN clocks AS k ON k.course_id = st.course_id
LEFT JOIN tallies AS f ON f.user_id = st.user_id AND f.course_id = st.course_id
WHERE course_ids IS NULL OR st.course_id = ANY(course_ids)
$$;

CREATE OR REPLACE FUNCTION canvas.final_projection(course_ids bigint[], as_of_week integer DEFAULT NULL)
RETURNS TABLE (
    user_id bigint,
    course_id bigint,
    as_of timestamptz,
    at_clock boolean,
    weeks_in numeric,
    current_score numeric,
    predicted_score numeric,
    low numeric,
    high numeric,
    method text,
    calibration_week integer,
    expected_on_remaining numeric,
    momentum_shift numeric,
    remaining_share numeric,
    graded_items bigint,
    remaining_items bigint,
    spread numeric,
    formula_half numeric,
    normaliser numeric,
    note text
)
LANGUAGE sql STABLE
AS $$
WITH items AS (
    -- Each submission worth points: graded, missing, or remaining (work without a due
    -- date is never missing before the clock).
    SELECT
        w.user_id,
        w.course_id,
        w.assignment_group_id,
        w.points_possible::float8 AS points,
        w.score::float8 AS score,
        w.score IS NOT NULL AS graded,
        w.score IS NULL AND coalesce(w.is_missing, false) AS missing,
        w.score IS NULL AND NOT coalesce(w.is_missing, false) AS remaining,
        w.due_at
    FROM canvas.submissions_as_of(course_ids, as_of_week) AS w
    WHERE w.points_possible > 0
),
groups AS (
    -- Each student's points per assignment group: earned, judged (graded or missing),
    -- remaining.
    SELECT
        i.user_id,
        i.course_id,
        coalesce(g.group_weight, 0)::float8 AS weight,
        coalesce(sum(i.score) FILTER (WHERE i.graded), 0) AS earned,
        coalesce(sum(i.points) FILTER (WHERE NOT i.remaining), 0) AS judged,
        coalesce(sum(i.points) FILTER (WHERE i.remaining), 0) AS remaining
    FROM items AS i
    LEFT JOIN canvas.assignment_groups AS g ON g.id = i.assignment_group_id
    GROUP BY i.user_id, i.course_id, i.assignment_group_id, g.group_weight
),
parts AS (
    -- Each student's groups combined: by weight (the weighted_ sums, over the weight
    -- of the groups) and by points.
    SELECT
        g.user_id,
        g.course_id,
        sum(g.weight) AS weight,
        sum(g.weight * g.earned / (g.judged + g.remaining)) AS weighted_earned,
        sum(g.weight * g.remaining / (g.judged + g.remaining)) AS weighted_remaining,
        sum(g.weight) FILTER (WHERE g.judged > 0) AS judged_weight,
        sum(g.weight * g.earned / NULLIF(g.judged, 0)) AS weighted_judged,
        sum(g.earned) AS earned,
        sum(g.judged) AS judged,
        sum(g.remaining) AS remaining
    FROM groups AS g
    GROUP BY g.user_id, g.course_id
),
counts AS (
    -- Each student's items, the spread of the judged percentages, and the lower median
    -- due date of the remaining work (percentile_disc: an actual due date).
    SELECT
        i.user_id,
        i.course_id,
        count(*) FILTER (WHERE NOT i.remaining) AS graded_items,
        count(*) FILTER (WHERE i.remaining) AS remaining_items,
        stddev_samp(CASE WHEN i.graded THEN 100 * i.score / i.points
                         WHEN i.missing THEN 0 END) AS spread,
        percentile_disc(0.5) WITHIN GROUP (ORDER BY i.due_at) FILTER (WHERE i.remaining) AS median_due
    FROM items AS i
    GROUP BY i.user_id, i.course_id
),
shares AS (
    SELECT
        f.user_id,
        f.course_id,
        f.as_of,
        f.slope_per_week,
        f.r2,
        p.user_id IS NOT NULL AS has_work,
        CASE
            WHEN co.apply_assignment_group_weights AND p.weight > 0
            THEN p.weighted_earned / p.weight
            ELSE p.earned / (p.judged + p.remaining)
        END AS earned_share,
        CASE
            WHEN co.apply_assignment_group_weights AND p.weight > 0
            THEN p.weighted_remaining / p.weight
            ELSE p.remaining / (p.judged + p.remaining)
        END AS remaining_share,
        coalesce(
            f.current_score::float8,
            CASE
                WHEN co.apply_assignment_group_weights AND p.judged_weight > 0
                THEN 100 * p.weighted_judged / p.judged_weight
                ELSE 100 * p.earned / NULLIF(p.judged, 0)
            END
        ) AS current,
        coalesce(n.graded_items, 0) AS graded_items,
        coalesce(n.remaining_items, 0) AS remaining_items,
        CASE WHEN n.graded_items >= 2 THEN n.spread ELSE 15 END AS spread,
        n.median_due
    FROM canvas.student_factors_as_of(course_ids, as_of_week) AS f
    JOIN canvas.courses AS co ON co.id = f.course_id
    LEFT JOIN parts AS p ON p.user_id = f.user_id AND p.course_id = f.course_id
    LEFT JOIN counts AS n ON n.user_id = f.user_id AND n.course_id = f.course_id
),
expected AS (
    SELECT
        s.*,
        CASE
            WHEN s.slope_per_week IS NOT NULL AND s.median_due IS NOT NULL
            THEN least(greatest(
                     s.slope_per_week::float8 * coalesce(s.r2, 0)::float8
                     * greatest(extract(epoch FROM s.median_due - s.as_of)::float8 / 604800, 0),
                     -25), 25)
            ELSE 0
        END AS shift
    FROM shares AS s
),
projected AS (
    SELECT
        e.*,
        least(greatest(e.current + e.shift, 0), 100) AS expected_score,
        CASE
            WHEN e.has_work AND e.current IS NOT NULL
            THEN 100 * e.earned_share + least(greatest(e.current + e.shift, 0), 100) * e.remaining_share
        END AS predicted,
        CASE
            WHEN e.remaining_items > 0
            THEN 1.96 * e.remaining_share * e.spread
                 * sqrt(1.0 / greatest(e.graded_items, 1) + 1.0 / e.remaining_items)
            ELSE 0
        END AS half
    FROM expected AS e
),
calibrations AS (
    -- Each course's calibration: the newest of the calibrated week nearest its weeks
    -- since its start at the moment.
    SELECT
        m.course_id,
        m.as_of,
        m.at_clock,
        extract(epoch FROM m.as_of - m.start_at) / 604800 AS weeks_in,
        c.as_of_week,
        c.quantile
    FROM canvas.course_moments(course_ids, as_of_week) AS m
    LEFT JOIN LATERAL (
        SELECT
            k.as_of_week,
            k.quantile
        FROM canvas.projection_calibration_in_use(0.05) AS k
        WHERE m.start_at IS NOT NULL
        ORDER BY abs(k.as_of_week - extract(epoch FROM m.as_of - m.start_at) / 604800),
                 k.as_of_week
        LIMIT 1
    ) AS c ON true
),
intervals AS (
    SELECT
        p.*,
        k.at_clock,
        k.weeks_in,
        k.as_of_week AS calibration_week,
        sqrt(greatest(p.remaining_share, 0.01) * greatest(p.spread, 5)) AS normaliser,
        coalesce(k.quantile * sqrt(greatest(p.remaining_share, 0.01) * greatest(p.spread, 5)),
                 p.half) AS interval_half,
        CASE WHEN k.quantile IS NOT NULL THEN 'conformal' ELSE 'weighted-projection-v1' END AS method
    FROM projected AS p
    JOIN calibrations AS k ON k.course_id = p.course_id
)
SELECT
    i.user_id,
    i.course_id,
    i.as_of,
    i.at_clock,
    round(i.weeks_in::numeric, 2),
    round(i.current::numeric, 2),
    round(i.predicted::numeric, 2),
    CASE WHEN i.predicted IS NOT NULL
         THEN round(greatest(i.predicted - i.interval_half, 0)::numeric, 2) END,
    CASE WHEN i.predicted IS NOT NULL
         THEN round(least(greatest(i.predicted, 100), i.predicted + i.interval_half)::numeric, 2) END,
    i.method,
    CASE WHEN i.method = 'conformal' THEN i.calibration_week END,
    CASE WHEN i.predicted IS NOT NULL THEN round(i.expected_score::numeric, 2) END,
    CASE WHEN i.predicted IS NOT NULL THEN round(i.shift::numeric, 2) ELSE 0 END,
    CASE WHEN i.predicted IS NOT NULL THEN round(i.remaining_share::numeric, 4) ELSE 0 END,
    i.graded_items,
    i.remaining_items,
    round(i.spread::numeric, 2),
    CASE WHEN i.predicted IS NOT NULL THEN round(i.half::numeric, 4) END,
    CASE WHEN i.predicted IS NOT NULL THEN round(i.normaliser::numeric, 4) END,
    CASE
        WHEN NOT i.has_work THEN 'no work that counts toward the grade'
        WHEN i.current IS NULL THEN 'nothing graded yet and no current score'
        ELSE ''
    END
FROM intervals AS i
$$;
