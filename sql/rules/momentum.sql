-- Rules: a student's work in a course, and its grade momentum: is it getting better or
-- worse? At a moment: canvas.student_factors_as_of; at the course's clock, in one fast
-- pass: canvas.student_work.
--
-- canvas.student_factors_as_of(course_ids, as_of_week): the factors of canvas.student_risk
-- (sql/rules/risk.sql) of each student and course of course_ids (NULL: every course) at
-- a moment. as_of_week NULL: the moment is the course's clock (below) and the students
-- its active ones: the same factors as canvas.student_work and canvas.student_risk, which
-- state them for the clock alone in one pass over the submissions (reading this function
-- instead doubled the at-risk report of every course, 711 to 1,420 ms at 1,000,000
-- submissions; tests/test_outcomes.py checks for every student that the two agree). A
-- number N: the moment is N weeks after the course's start (start_at, else its first due
-- date), or its clock if that comes first, and the students its active and completed
-- ones, and those who withdrew (inactive or deleted) but were last seen after a moment
-- before the clock (their last activity, or Canvas's updated_at, which a withdrawal
-- sets): issue 15, the factors a past course had at week N, of everyone still in it
-- then. A moment before the clock
-- sees only what was known then:
--
--   submitted       submitted_at at or before the moment
--   due, missing    due date at or before the moment; missing: due and not submitted
--                   by then (Canvas's missing and late flags were set later)
--   late            submitted by then, after its due date
--   a point         graded by then: of the versions of the submission graded at or
--                   before the moment (layer 2, history.submission_scores, and the row
--                   itself), the latest recorded by the moment, else the first recorded
--                   after it (a score changed later does not count)
--   current_score   the latest history.enrollment_grades row recorded by the moment
--                   (score_source 'recorded'), else the percentage of the points
--                   possible of the work graded by then ('computed', unweighted)
--   days_inactive   only when the last activity was at or before the moment, else NULL
--
-- Excused work and which assignments count are as they stand. At the clock (and at a
-- moment at or after it) everything is as it stands: Canvas's current score
-- (score_source 'canvas'), flags and last activity.
--
-- Two functions state the moment and the submissions at it, once, for this function
-- and for canvas.final_projection (sql/rules/projection.sql):
--
--   canvas.course_moments(course_ids, as_of_week)
--                   each course's start (start_at, else its first due date), clock, the
--                   moment (as_of) and whether it is the clock (at_clock)
--   canvas.submissions_as_of(course_ids, as_of_week)
--                   each submission that counts (not excused, its assignment counting,
--                   canvas.graded_assignments) at its course's moment: due, missing,
--                   handed in, late and the score graded by then, as in the table above;
--                   with its assignment's group and points and its due date (the
--                   student's own, else the assignment's)
--
-- canvas.student_work(course_ids): one row per active student and course of course_ids
-- (NULL: every course): the work and momentum at the course's clock. Read by
-- sql/reports/grade_momentum.sql (tracker.analytics.momentum), which adds names and
-- order, and by canvas.student_risk. One pass over the submissions counts the work and
-- fits the momentum:
--
--   due, missing    work due (its due date, the student's own else the assignment's, at
--                   or before the course's clock, or Canvas marked it missing) and
--                   missing (Canvas marked it so)
--   submitted, late work handed in, and of it, late (Canvas marked it so)
--
-- The points: each graded submission of the student in the course, as a percentage of
-- the assignment's points, dated by when it was due (the student's own due date, else
-- the assignment's, else when it was submitted or graded). Only the points dated in the
-- eight weeks before the course's clock count; the clock is the latest activity of any
-- active student of the course (else now, and never later than now), so a course whose
-- data is a few weeks old is judged as of its own last day. Left out of all: excused
-- work, assignments that do not count (canvas.graded_assignments); of the points, work
-- worth no points.
--
--   points          how many points there are
--   slope           least-squares slope of percentage points against weeks (regr_slope)
--   slope_per_week  the same, 2 decimals; with r2 (regr_r2, its coefficient of
--                   determination, 3 decimals) null under three points
--   trend           'improving' when slope >= +2 points a week, 'declining' when
--                   slope <= -2, in both cases only if the slope is clearly more than
--                   noise: its t statistic (slope / standard error, t² = r²·(n-2)/(1-r²))
--                   is 2 or more, i.e. r²·(n-2) >= 4·(1-r²). Otherwise 'steady' (fewer
--                   than three points, a flat or a noisy series). On the sample school
--                   this flags about half the students whose decline had begun three
--                   weeks before, and under 2% of the others.
--   mean_percent, first_at, last_at, recent
--                   the mean percentage (2 decimals), the first and last point's date,
--                   and every point as {"at", "percent"}, oldest first
--   clock           the course's clock
--
-- A SQL function of one SELECT, STABLE: PostgreSQL inlines it into the query that calls
-- it, so a constant course_ids (and a condition on user_id) reaches the scans beneath,
-- and the columns a caller does not read (recent, due) are not computed.
--
-- Applied by migrations 0011_rules, 0013_outcomes, 0015_projection and
-- 0023_rules_per_student with the other files of sql/rules (tracker/rules.py).


-- name: course_moments
-- Each course of course_ids: its start, its clock, and the moment it is judged at: the
-- clock (as_of_week NULL), or N weeks after its start, or its clock if that comes first.
CREATE OR REPLACE FUNCTION canvas.course_moments(course_ids bigint[], as_of_week integer)
RETURNS TABLE (
    course_id bigint,
    start_at timestamptz,
    clock timestamptz,
    as_of timestamptz,
    at_clock boolean
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
WITH clocks AS NOT MATERIALIZED (
    -- Not materialized: a query that reads a materialized CTE cannot be run by
    -- parallel workers, and the callers' tallies read every submission.
    SELECT
        e.course_id,
        least(coalesce(max(e.last_activity_at), now()), now()) AS clock
    FROM canvas.active_students AS e
    WHERE course_ids IS NULL OR e.course_id = ANY(course_ids)
    GROUP BY e.course_id
),
starts AS NOT MATERIALIZED (
    SELECT
        co.id AS course_id,
        coalesce(co.start_at, (SELECT min(a.due_at)
                               FROM canvas.graded_assignments AS a
                               WHERE a.course_id = co.id)) AS start_at
    FROM canvas.courses AS co
    WHERE course_ids IS NULL OR co.id = ANY(course_ids)
)
-- Below, "as_of_week IS NULL OR m.at_clock" (here and in the callers): a constant NULL
-- as_of_week folds it to true, and with it away what only an earlier moment needs
-- (layer 2's rows). As of a week, a course without active students (a past one) has
-- now for its clock.
SELECT
    k.course_id,
    s.start_at,
    k.clock,
    k.clock AS as_of,
    true AS at_clock
FROM clocks AS k
LEFT JOIN starts AS s ON s.course_id = k.course_id
WHERE as_of_week IS NULL
UNION ALL
SELECT
    s.course_id,
    s.start_at,
    coalesce(k.clock, now()),
    least(s.start_at + as_of_week * interval '1 week', coalesce(k.clock, now())),
    s.start_at + as_of_week * interval '1 week' >= coalesce(k.clock, now())
FROM starts AS s
LEFT JOIN clocks AS k ON k.course_id = s.course_id
WHERE as_of_week IS NOT NULL
$$;

-- name: describe_course_moments
-- Its comment.
COMMENT ON FUNCTION canvas.course_moments(bigint[], integer) IS
    'Each course of course_ids (NULL: every course): its start (start_at, else its first due date), its clock, and the moment it is judged at: the clock (as_of_week NULL; courses with active students), else N weeks after its start or the clock if that comes first (every course).';

-- name: submissions_as_of
-- Each submission that counts (not excused, its assignment counting) of each course of
-- course_ids, as it stood at the course's moment (canvas.course_moments): due, missing,
-- handed in, late, and its score if graded by then.
CREATE OR REPLACE FUNCTION canvas.submissions_as_of(course_ids bigint[], as_of_week integer)
RETURNS TABLE (
    user_id bigint,
    course_id bigint,
    submission_id bigint,
    assignment_id bigint,
    assignment_group_id bigint,
    points_possible numeric,
    due_at timestamptz,
    dated_at timestamptz,
    is_due boolean,
    is_missing boolean,
    handed_in boolean,
    is_late boolean,
    score numeric,
    as_of timestamptz,
    at_clock boolean
)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT
    s.user_id,
    s.course_id,
    s.id,
    s.assignment_id,
    a.assignment_group_id,
    a.points_possible,
    coalesce(s.cached_due_date, a.due_at),
    coalesce(s.cached_due_date, a.due_at, s.submitted_at, s.graded_at),
    coalesce(s.cached_due_date, a.due_at) <= m.as_of
        OR (as_of_week IS NULL OR m.at_clock) AND (coalesce(s.missing, false)
                           OR s.late_policy_status IS NOT DISTINCT FROM 'missing'),
    CASE
        WHEN (as_of_week IS NULL OR m.at_clock)
        THEN coalesce(s.missing, false) OR s.late_policy_status IS NOT DISTINCT FROM 'missing'
        ELSE coalesce(s.cached_due_date, a.due_at) <= m.as_of
             AND (s.submitted_at IS NULL OR s.submitted_at > m.as_of)
    END,
    CASE
        WHEN (as_of_week IS NULL OR m.at_clock) THEN s.submitted_at IS NOT NULL
        ELSE s.submitted_at <= m.as_of
    END,
    CASE
        WHEN (as_of_week IS NULL OR m.at_clock)
        THEN coalesce(s.late, false) OR s.late_policy_status IS NOT DISTINCT FROM 'late'
        ELSE s.submitted_at > coalesce(s.cached_due_date, a.due_at)
    END,
    CASE
        WHEN (as_of_week IS NULL OR m.at_clock)
        THEN CASE WHEN s.workflow_state = 'graded' THEN s.score END
        ELSE graded_then.score
    END,
    m.as_of,
    m.at_clock
FROM canvas.submissions AS s
JOIN canvas.course_moments(course_ids, as_of_week) AS m ON m.course_id = s.course_id
JOIN canvas.graded_assignments AS a ON a.id = s.assignment_id
LEFT JOIN LATERAL (
    -- Before the clock, the versions graded by then: recorded by the moment, the
    -- latest; else the first recorded after it (the row itself is the newest). A
    -- join, not a scalar subquery, so that it runs once per submission (the
    -- expressions that name the score would each run a subquery again).
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
$$;

-- name: describe_submissions_as_of
-- Its comment.
COMMENT ON FUNCTION canvas.submissions_as_of(bigint[], integer) IS
    'Each submission that counts of each course of course_ids (NULL: every course), as it stood at the course''s moment (canvas.course_moments): due, missing, handed in, late, and its score if graded by then.';

-- name: student_factors_as_of
-- The work, momentum, current score and inactivity of each student of each course of
-- course_ids, at the clock (as_of_week NULL) or N weeks after the course's start.
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
WITH moments AS NOT MATERIALIZED (
    SELECT
        m.course_id,
        m.clock,
        m.as_of,
        m.at_clock
    FROM canvas.course_moments(course_ids, as_of_week) AS m
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
        w.user_id,
        w.course_id,
        w.submission_id,
        w.is_due,
        w.is_missing,
        w.handed_in,
        w.is_late,
        w.score,
        w.dated_at,
        w.points_possible,
        w.as_of
    FROM canvas.submissions_as_of(course_ids, as_of_week) AS w
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

-- name: describe_student_factors_as_of
-- Its comment.
COMMENT ON FUNCTION canvas.student_factors_as_of(bigint[], integer) IS
    'The work, momentum, current score and inactivity of each student of each course of course_ids (NULL: every course), at its clock (as_of_week NULL: active students) or N weeks after its start (active and completed students), from what was known then.';

-- name: student_work
-- Work due, missing, handed in, late, and the momentum of each active student of each
-- course of course_ids.
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
        -- the points counted by is_point, not count(p.percent): the same rows (percent
        -- is not null exactly when is_point), without computing the rounded numeric
        -- percentage of every submission when only the count is read (the at-risk report
        -- of a course of 1,000 students: 1.5 ms of 38.5)
        count(*) FILTER (WHERE p.is_point) AS points,
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

-- name: describe_student_work
-- Its comment.
COMMENT ON FUNCTION canvas.student_work(bigint[]) IS
    'Work due, missing, handed in and late, and grade momentum (slope a week, r², trend, points) of each active student of each course of course_ids (NULL: every course).';
