-- Rules: the final score each student is heading for in a course, with a 95% interval
-- (issue 15, part 5).
--
-- canvas.final_projection(course_ids, as_of_week): one row per student and course of
-- course_ids (NULL: every course). as_of_week NULL: the course's clock and its active
-- students (what tracker.analytics.predict_final_grade and the predicted_final report
-- read). A number N: the moment N weeks after the course's start, for its active and
-- completed students, from what was known then (what tracker.projection.calibrate reads
-- on past courses). The moment, and each submission as it stood then, are
-- canvas.course_moments and canvas.submissions_as_of (sql/rules/momentum.sql); the
-- current score and the momentum are canvas.student_factors_as_of's.
--
-- The projection (weighted-projection-v1):
--
--   1. Each submission that counts and is worth points is graded (a score by the
--      moment: it keeps its points), missing (not graded, and missing then: it counts
--      zero) or remaining (the rest).
--   2. The student is expected to score e on remaining work: the current score (else
--      the percentage of the graded and missing work, by group weights when the course
--      uses them, else by points) shifted by momentum, slope × r² × h, where h is the
--      weeks from the moment to the lower median due date of the remaining work (0 when
--      that is past or unknown); the shift is capped at ±25 points and e kept within
--      [0, 100].
--   3. Each assignment group's final percentage is (earned + e·remaining) / (graded +
--      remaining) points. With group weights (the course's apply_assignment_group_weights,
--      some weight above 0), the final score is their weighted mean, the weights
--      rescaled to their sum over the groups holding work, as Canvas does; without,
--      total points decide. remaining_share is the part of the final grade the
--      remaining work weighs.
--   4. The interval, 95%:
--        conformal                when a calibration exists (history.projection_calibrations,
--                                 made by tracker.projection.calibrate on completed
--                                 courses): predicted ± q · normaliser, q the newest
--                                 quantile (alpha 0.05) of the calibrated week nearest
--                                 the course's weeks since its start at the moment
--                                 (weeks_in; a tie goes to the earlier week), said in
--                                 calibration_week;
--        weighted-projection-v1   otherwise: ± formula_half = 1.96 · f · σ · √(1/n + 1/m),
--                                 f the remaining share, σ the spread (sample standard
--                                 deviation) of the student's graded and missing
--                                 percentages (15 with fewer than two), n and m the
--                                 graded (and missing) and remaining items.
--      Either is clipped to [0, max(100, predicted)].
--
-- normaliser = √(f · σ), f the remaining share (at least 0.01) and σ the spread (at
-- least 5): the projection's error is the error on the work still to come, f of the
-- grade, of a student whose scores vary by σ; the calibration's errors are |final −
-- predicted| / normaliser, so the interval is wider for more work to come and a less
-- steady student. Chosen on the sample school (tracker sample, 2,000 students, 12 and
-- 60 courses, weeks 3, 6, 9) among f, f·σ, √f, √(f·σ), the formula's half-width and
-- none: the narrowest intervals at the same held-out coverage (median width at week 3,
-- 60 courses: 44 points against 70 for f alone); the floors keep a last week's, or a
-- steady student's, interval from closing on a grade Canvas still moves (late
-- penalties, regrades, work added after the moment).
--
-- A student with no work that counts, or nothing graded and no current score, gets
-- no prediction (predicted_score, low and high NULL) and a note saying which.
--
-- A SQL function of one SELECT, STABLE: PostgreSQL inlines it, so a constant course_ids
-- reaches the scans beneath. The calibrations are read through
-- canvas.projection_calibration_in_use(alpha), in PL/pgSQL because PostgreSQL checks a
-- SQL function's tables when it is created, and migrations 0011 and 0013 apply every
-- file of sql/rules before 0015_projection creates history.projection_calibrations; it
-- returns a row per calibrated week and runs once per call.
--
-- Applied by migrations 0015_projection and 0023_rules_per_student with the other files of
-- sql/rules (tracker/rules.py).


-- name: projection_calibration_in_use
-- The newest calibration of each week for alpha.
CREATE OR REPLACE FUNCTION canvas.projection_calibration_in_use(alpha numeric)
RETURNS TABLE (
    as_of_week integer,
    quantile numeric,
    created_at timestamptz
)
LANGUAGE plpgsql STABLE
AS $$
BEGIN
    RETURN QUERY
    SELECT DISTINCT ON (c.as_of_week)
        c.as_of_week,
        c.quantile,
        c.created_at
    FROM history.projection_calibrations AS c
    WHERE c.alpha = projection_calibration_in_use.alpha
    ORDER BY c.as_of_week, c.created_at DESC, c.id DESC;
END
$$;

-- name: describe_projection_calibration_in_use
-- Its comment.
COMMENT ON FUNCTION canvas.projection_calibration_in_use(numeric) IS
    'The newest conformal calibration of the final-grade projection (history.projection_calibrations) of each as-of week, for alpha.';

-- name: final_projection
-- The final score each student of each course of course_ids is heading for, with its
-- 95% interval, at the clock (as_of_week NULL) or N weeks after the course's start.
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
WITH items AS NOT MATERIALIZED (
    -- Each submission worth points: graded, missing, or remaining (work without a due
    -- date is never missing before the clock). NOT MATERIALIZED: read twice (groups,
    -- counts), it would be materialized by default, and a caller's condition on
    -- user_id (the student card, analytics.predict_final_grade) would stop at it: every
    -- submission of the course read for one student's (a course of 1,000 students:
    -- 35 ms, now 2). Inlined, a whole course is read twice instead (predicted_final of
    -- that course 109 to 116 ms).
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

-- name: describe_final_projection
-- Its comment.
COMMENT ON FUNCTION canvas.final_projection(bigint[], integer) IS
    'The final score each student of each course of course_ids (NULL: every course) is heading for, with a 95% interval (conformal when calibrated, else weighted-projection-v1), at its clock (as_of_week NULL: active students) or N weeks after its start (active and completed students), from what was known then.';
