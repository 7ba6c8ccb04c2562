-- Predicted final: the final score each active student is heading for, with its 95%
-- interval and the method that made it.
--
-- Run:   psql -X -v ON_ERROR_STOP=1 -v course_id=42 -f sql/reports/predicted_final.sql
-- Takes: -v course_id=ID   one course; empty (course_id=) for every course
-- The variable must be given (psql leaves an unset :'name' in the text); an empty value
-- means "no filter".
--
-- One row per active student and course, lowest prediction first (no prediction
-- last): canvas.final_projection at the course's clock (sql/rules/projection.sql, \sf
-- canvas.final_projection, states the rule: graded work keeps its points, missing work
-- counts zero, the rest is expected at the current score shifted by momentum, combined
-- by assignment-group weights or points). method is 'conformal' when the interval was
-- calibrated on completed courses (tracker.projection.calibrate; calibration_week: the
-- as-of week it was calibrated at), else 'weighted-projection-v1' (the formula); note
-- says why a student has no prediction. tracker.analytics.predict_final_grade() reads
-- the same function for one student.

-- name: predicted_final
-- Predicted final score, 95% interval and method per active student and course.
SELECT
    p.user_id,
    u.name AS student,
    u.sis_user_id,
    p.course_id,
    c.name AS course,
    p.current_score,
    p.predicted_score,
    p.low,
    p.high,
    p.method,
    p.calibration_week,
    p.remaining_share,
    p.note
FROM canvas.final_projection(
    CASE WHEN NULLIF(:'course_id'::text, '') IS NOT NULL
         THEN ARRAY[NULLIF(:'course_id'::text, '')::bigint] END
) AS p
JOIN canvas.users AS u ON u.id = p.user_id
JOIN canvas.courses AS c ON c.id = p.course_id
ORDER BY c.name, p.course_id, p.predicted_score ASC NULLS LAST, u.sortable_name, p.user_id;
