-- Statements behind tracker.projection: the conformal calibration of the final-grade
-- projection's interval (canvas.final_projection, sql/rules/projection.sql) on
-- completed courses, stored in layer 2 (history.projection_calibrations).
--
-- The students a calibration learns from: enrollments of completed courses
-- (canvas.enrollment_outcomes, sql/rules/outcomes.sql) that were not withdrawn and
-- have a final score; a student with two enrollments in a course counts once (the
-- first enrollment's final score).

-- name: calibration_courses
-- The completed courses with such students, and each one's length in whole weeks (from
-- its start, canvas.course_moments, to its end: end_at, else its term's, else its last
-- due date; rounded up).
WITH learned AS (
    SELECT DISTINCT o.course_id
    FROM canvas.enrollment_outcomes() AS o
    WHERE o.outcome <> 'withdrawn'
      AND o.final_score IS NOT NULL
)
SELECT
    m.course_id,
    ceil(extract(epoch FROM coalesce(c.end_at, t.end_at,
                                     (SELECT max(a.due_at)
                                      FROM canvas.graded_assignments AS a
                                      WHERE a.course_id = c.id))
                            - m.start_at) / 604800)::integer AS weeks
FROM learned AS l
JOIN canvas.course_moments((SELECT array_agg(l2.course_id) FROM learned AS l2), 0) AS m
    ON m.course_id = l.course_id
JOIN canvas.courses AS c ON c.id = m.course_id
LEFT JOIN canvas.terms AS t ON t.id = c.enrollment_term_id
ORDER BY m.course_id;

-- name: calibration_errors
-- Each such student of the courses of course_ids, projected as of week as_of_week
-- (only where that moment came before the course's clock: a later one is the course
-- as it ended): the prediction, its normaliser, the final score and the conformity
-- score |final − predicted| / normaliser.
WITH outcomes AS (
    SELECT DISTINCT ON (o.user_id, o.course_id)
        o.user_id,
        o.course_id,
        o.final_score
    FROM canvas.enrollment_outcomes() AS o
    WHERE o.outcome <> 'withdrawn'
      AND o.final_score IS NOT NULL
      AND o.course_id = ANY(:'course_ids'::bigint[])
    ORDER BY o.user_id, o.course_id, o.enrollment_id
)
SELECT
    p.course_id,
    p.user_id,
    p.predicted_score,
    p.normaliser,
    o.final_score,
    abs(o.final_score - p.predicted_score) / p.normaliser AS score
FROM canvas.final_projection(:'course_ids'::bigint[], :'as_of_week'::integer) AS p
JOIN outcomes AS o ON o.user_id = p.user_id AND o.course_id = p.course_id
WHERE NOT p.at_clock
  AND p.predicted_score IS NOT NULL
ORDER BY p.course_id, p.user_id;

-- name: record_calibrations
-- Append one calibration per week (the arrays, element by element, all of a length).
INSERT INTO history.projection_calibrations (as_of_week, alpha, quantile, n, courses, coverage)
SELECT
    w.as_of_week,
    :'alpha'::numeric,
    w.quantile,
    w.n,
    w.courses,
    w.coverage
FROM unnest(:'weeks'::integer[], :'quantiles'::numeric[], :'ns'::integer[],
            :'course_counts'::integer[], :'coverages'::numeric[])
     AS w (as_of_week, quantile, n, courses, coverage)
RETURNING id;

-- name: calibrations
-- Every stored calibration, newest first.
SELECT
    c.id,
    c.as_of_week,
    c.alpha,
    c.quantile,
    c.n,
    c.courses,
    c.coverage,
    c.created_at
FROM history.projection_calibrations AS c
ORDER BY c.created_at DESC, c.as_of_week, c.id DESC;

-- name: set_jit
-- Set jit for the rest of the transaction; returns the setting it had.
SELECT
    current_setting('jit') AS jit,
    set_config('jit', :'value'::text, true) AS now_set;
