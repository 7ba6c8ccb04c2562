-- Grade momentum: is each student's work getting better or worse?
--
-- Run:   psql -X -v ON_ERROR_STOP=1 -v course_id=42 -v user_id= -f sql/reports/grade_momentum.sql
-- Takes: -v course_id=ID   one course; empty (course_id=) for every course
--        -v user_id=ID     one student; empty (user_id=) for every student
-- Both variables must be given (psql leaves an unset :'name' in the text); an empty
-- value means "no filter".
--
-- The points: each graded submission of the student in the course, as a percentage of
-- the assignment's points, dated by when it was due (the student's own due date, else
-- the assignment's, else when it was submitted or graded). Only the points dated in
-- the eight weeks before the course's clock count; the clock is the latest activity of
-- any active student of the course (else now), so a course whose data is a few weeks
-- old is judged as of its own last day.
--
-- slope_per_week: least-squares slope of percentage points against weeks (regr_slope),
-- with r2 its coefficient of determination (regr_r2); both need three points or more.
-- trend: 'improving' when slope >= +2 points a week, 'declining' when slope <= -2,
-- in both cases only if the slope is clearly more than noise: its t statistic
-- (slope / standard error, t² = r²·(n-2)/(1-r²)) is 2 or more, i.e. r²·(n-2) >= 4·(1-r²).
-- Otherwise 'steady' (fewer than three points, a flat or a noisy series). On the
-- sample school this flags about half the students whose decline had begun three weeks
-- before, and under 2% of the others. tracker.analytics.momentum() reads this
-- statement; canvas.student_risk (the risk model, migration 0010_risk_per_sync) repeats
-- the same points and rule: keep them in step.
--
-- Left out: the test student, enrollments that are not active, objects marked missing
-- in layer 0, excused work, assignments that are not graded, omitted from the final
-- grade, unpublished or worth no points.

-- name: grade_momentum
-- Slope (percentage points a week), r², trend label and recent points per student and course.
WITH enrolled AS (
    SELECT
        e.user_id,
        e.course_id,
        max(e.last_activity_at) AS last_activity_at
    FROM canvas.active_students AS e
    WHERE (NULLIF(:'course_id'::text, '') IS NULL OR e.course_id = NULLIF(:'course_id'::text, '')::bigint)
    GROUP BY e.user_id, e.course_id
),
students AS (
    SELECT
        en.user_id,
        en.course_id
    FROM enrolled AS en
    WHERE (NULLIF(:'user_id'::text, '') IS NULL OR en.user_id = NULLIF(:'user_id'::text, '')::bigint)
),
clocks AS (
    SELECT
        en.course_id,
        least(coalesce(max(en.last_activity_at), now()), now()) AS clock
    FROM enrolled AS en
    WHERE en.course_id IN (SELECT course_id FROM students)
    GROUP BY en.course_id
),
points AS (
    SELECT
        s.user_id,
        s.course_id,
        s.id AS submission_id,
        coalesce(s.cached_due_date, a.due_at, s.submitted_at, s.graded_at) AS dated_at,
        round(100 * s.score / a.points_possible, 2) AS percent,
        100 * s.score::float8 / a.points_possible::float8 AS exact_percent
    FROM canvas.submissions AS s
    JOIN students AS st ON st.user_id = s.user_id AND st.course_id = s.course_id
    JOIN clocks AS k ON k.course_id = s.course_id
    JOIN canvas.graded_assignments AS a ON a.id = s.assignment_id
    WHERE (NULLIF(:'course_id'::text, '') IS NULL OR s.course_id = NULLIF(:'course_id'::text, '')::bigint)
      AND (NULLIF(:'user_id'::text, '') IS NULL OR s.user_id = NULLIF(:'user_id'::text, '')::bigint)
      AND s.workflow_state = 'graded'
      AND s.score IS NOT NULL
      AND s.excused IS NOT TRUE
      AND a.points_possible > 0
      AND coalesce(s.cached_due_date, a.due_at, s.submitted_at, s.graded_at) > k.clock - interval '8 weeks'
),
fits AS (
    SELECT
        p.user_id,
        p.course_id,
        count(*) AS points,
        regr_slope(p.exact_percent, date_part('epoch', p.dated_at) / 604800) AS slope,
        regr_r2(p.exact_percent, date_part('epoch', p.dated_at) / 604800) AS r2,
        round(avg(p.percent), 2) AS mean_percent,
        min(p.dated_at) AS first_at,
        max(p.dated_at) AS last_at,
        jsonb_agg(jsonb_build_object('at', p.dated_at, 'percent', p.percent)
                  ORDER BY p.dated_at, p.submission_id) AS recent
    FROM points AS p
    GROUP BY p.user_id, p.course_id
)
SELECT
    st.user_id,
    u.name AS student,
    st.course_id,
    c.name AS course,
    coalesce(f.points, 0) AS points,
    CASE WHEN f.points >= 3 THEN round(f.slope::numeric, 2) END AS slope_per_week,
    CASE WHEN f.points >= 3 THEN round(f.r2::numeric, 3) END AS r2,
    CASE
        WHEN f.points >= 3 AND f.slope >= 2 AND f.r2 * (f.points - 2) >= 4 * (1 - f.r2) THEN 'improving'
        WHEN f.points >= 3 AND f.slope <= -2 AND f.r2 * (f.points - 2) >= 4 * (1 - f.r2) THEN 'declining'
        ELSE 'steady'
    END AS trend,
    f.mean_percent,
    f.first_at,
    f.last_at,
    k.clock,
    coalesce(f.recent, '[]'::jsonb) AS recent
FROM students AS st
JOIN clocks AS k ON k.course_id = st.course_id
JOIN canvas.users AS u ON u.id = st.user_id
JOIN canvas.courses AS c ON c.id = st.course_id
LEFT JOIN fits AS f ON f.user_id = st.user_id AND f.course_id = st.course_id
ORDER BY c.name, st.course_id, CASE WHEN f.points >= 3 THEN f.slope END ASC NULLS LAST,
         u.sortable_name, st.user_id;
