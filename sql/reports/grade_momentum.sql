-- Grade momentum: is each student's work getting better or worse?
--
-- Run:   psql -X -v ON_ERROR_STOP=1 -v course_id=42 -v user_id= -f sql/reports/grade_momentum.sql
-- Takes: -v course_id=ID   one course; empty (course_id=) for every course
--        -v user_id=ID     one student; empty (user_id=) for every student
-- Both variables must be given (psql leaves an unset :'name' in the text); an empty
-- value means "no filter".
--
-- One row per active student and course, most declining first: the slope (percentage
-- points a week), r², trend, mean and points of canvas.student_work (sql/rules/momentum.sql,
-- \sf canvas.student_work, states the rule: which graded work counts, the eight-week window
-- before the course's clock, the fit and the trend's thresholds); this file adds names
-- and order. canvas.student_risk's momentum factor is the same function's.
-- tracker.analytics.momentum() reads this statement.

-- name: grade_momentum
-- Slope (percentage points a week), r², trend label and recent points per student and course.
SELECT
    m.user_id,
    u.name AS student,
    m.course_id,
    c.name AS course,
    m.points,
    m.slope_per_week,
    m.r2,
    m.trend,
    m.mean_percent,
    m.first_at,
    m.last_at,
    m.clock,
    m.recent
FROM canvas.student_work(
    CASE WHEN NULLIF(:'course_id'::text, '') IS NOT NULL
         THEN ARRAY[NULLIF(:'course_id'::text, '')::bigint] END
) AS m
JOIN canvas.users AS u ON u.id = m.user_id
JOIN canvas.courses AS c ON c.id = m.course_id
WHERE (NULLIF(:'user_id'::text, '') IS NULL OR m.user_id = NULLIF(:'user_id'::text, '')::bigint)
ORDER BY c.name, m.course_id, CASE WHEN m.points >= 3 THEN m.slope END ASC NULLS LAST,
         u.sortable_name, m.user_id;
