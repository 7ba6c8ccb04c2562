-- Latest risk: the most recent stored risk assessment of each student.
--
-- Run:   psql -X -v ON_ERROR_STOP=1 -v course_id=42 -v user_id= -f sql/reports/latest_risk.sql
-- Takes: -v course_id=ID   one course; empty (course_id=) for every course (and the
--                          assessments made across all courses, whose course is null)
--        -v user_id=ID     one student; empty (user_id=) for every student
-- Both variables must be given (psql leaves an unset :'name' in the text); an empty
-- value means "no filter".
--
-- From layer 2 (history.risk_assessments, written by tracker.analytics.
-- record_risk_assessments): per student and course, the latest assessment, with its
-- score, category, confidence, the reasons and factors it was based on and the model
-- version that made it; most at risk first. Students no longer actively enrolled in the
-- course (or the test student, or marked missing in layer 0) are left out.

-- name: latest_risk
-- The latest risk assessment per student and course, most at risk first.
SELECT
    r.user_id,
    u.name AS student,
    r.course_id,
    c.name AS course,
    r.assessed_at,
    r.score AS risk_score,
    r.category,
    r.confidence,
    r.factors -> 'reasons' AS reasons,
    r.model_version,
    r.factors,
    r.id AS assessment_id
FROM (
    SELECT DISTINCT ON (ra.user_id, ra.course_id)
        ra.*
    FROM history.risk_assessments AS ra
    WHERE (NULLIF(:'course_id'::text, '') IS NULL OR ra.course_id = NULLIF(:'course_id'::text, '')::bigint)
      AND (NULLIF(:'user_id'::text, '') IS NULL OR ra.user_id = NULLIF(:'user_id'::text, '')::bigint)
    ORDER BY ra.user_id, ra.course_id, ra.assessed_at DESC, ra.id DESC
) AS r
JOIN canvas.users AS u ON u.id = r.user_id
LEFT JOIN canvas.courses AS c ON c.id = r.course_id
WHERE r.course_id IS NULL
   OR EXISTS (
       SELECT 1
       FROM canvas.active_students AS e
       WHERE e.user_id = r.user_id
         AND e.course_id = r.course_id
   )
ORDER BY r.score DESC, u.sortable_name, r.user_id, c.name NULLS FIRST, r.course_id NULLS FIRST;
