-- Rules: a student's work in a course, and its grade momentum: is it getting better or
-- worse?
--
-- canvas.student_work(course_ids): one row per active student and course of course_ids
-- (NULL: every course). Read by sql/reports/grade_momentum.sql (tracker.analytics.
-- momentum), which adds names and order, and by canvas.student_risk (sql/rules/risk.sql),
-- whose momentum, missing and late factors it gives. One pass over the submissions
-- counts the work and fits the momentum.
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
-- Applied by migration 0011_rules with the other files of sql/rules (tracker/rules.py).

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

-- name: describe_student_work
-- Its comment.
COMMENT ON FUNCTION canvas.student_work(bigint[]) IS
    'Work due, missing, handed in and late, and grade momentum (slope a week, r², trend, points) of each active student of each course of course_ids (NULL: every course).';
