-- The rollback of 0015_projection (run by its restore()): drop what it added, and give
-- canvas.student_factors_as_of back the text 0014_risk_models gave it (0015 made it read
-- canvas.course_moments and canvas.submissions_as_of, which go).

DROP FUNCTION canvas.final_projection(bigint[], integer);

DROP FUNCTION canvas.projection_calibration_in_use(numeric);

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
    -- The active students; as of a week, also the completed and the withdrawn ones
    -- (left_at: when a withdrawn one was last seen, which the moment must precede).
    SELECT
        st.user_id,
        st.course_id,
        st.current_score,
        st.last_activity_at,
        NULL::timestamptz AS left_at
    FROM canvas.student_courses AS st
    WHERE course_ids IS NULL OR st.course_id = ANY(course_ids)
    UNION ALL
    SELECT
        e.user_id,
        e.course_id,
        (array_agg(e.current_score ORDER BY e.id))[1],
        max(e.last_activity_at),
        CASE WHEN bool_and(e.enrollment_state IN ('inactive', 'deleted'))
             THEN greatest(max(e.last_activity_at), max(e.updated_at)) END
    FROM canvas.enrollments AS e
    WHERE as_of_week IS NOT NULL
      AND e.type = 'StudentEnrollment'
      AND e.enrollment_state IN ('completed', 'inactive', 'deleted')
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
JOIN moments AS m
    ON m.course_id = st.course_id
   AND (st.left_at IS NULL OR (NOT m.at_clock AND st.left_at > m.as_of))
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

DROP FUNCTION canvas.submissions_as_of(bigint[], integer);

DROP FUNCTION canvas.course_moments(bigint[], integer);

DROP TABLE history.projection_calibrations;
