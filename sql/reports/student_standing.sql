-- Student standing: where each active student stands in each course now.
--
-- Run:   psql -X -v ON_ERROR_STOP=1 -v course_id=42 -v user_id= -f sql/reports/student_standing.sql
-- Takes: -v course_id=ID   one course; empty (course_id=) for every course
--        -v user_id=ID     one student; empty (user_id=) for every student
-- Both variables must be given (psql leaves an unset :'name' in the text); an empty
-- value means "no filter".
--
-- One row per active student and course (canvas.student_courses): Canvas's current
-- score and grade (of the first enrollment, by id), the work that counts toward a grade
-- (canvas.graded_assignments) missing — as missing_work lists it: Canvas's missing flag
-- or a teacher's late policy status 'missing', never excused work — and handed in late
-- (never excused work), the latest activity, and the latest stored risk assessment (as
-- latest_risk gives it: category, score, reasons, when; empty before the first). The
-- view reports.student_standing (migration 0018_reports_views) is this SELECT without
-- the filters and the order.

-- name: student_standing
-- Each active student's standing in each course, by course and name.
SELECT
    sc.course_id,
    c.name AS course,
    sc.user_id,
    u.name AS student,
    u.sis_user_id,
    sc.current_score,
    (SELECT e.current_grade
     FROM canvas.active_students AS e
     WHERE e.user_id = sc.user_id
       AND e.course_id = sc.course_id
     ORDER BY e.id
     LIMIT 1) AS current_grade,
    coalesce(w.missing, 0) AS missing,
    coalesce(w.late, 0) AS late,
    sc.last_activity_at,
    r.category AS risk_category,
    r.score AS risk_score,
    ARRAY(SELECT jsonb_array_elements_text(r.factors -> 'reasons')) AS risk_reasons,
    r.assessed_at AS risk_assessed_at
FROM canvas.student_courses AS sc
JOIN canvas.users AS u ON u.id = sc.user_id
JOIN canvas.courses AS c ON c.id = sc.course_id
-- Grouped (not LATERAL) so that reading every student at once is one pass over each
-- table, and a condition on the student or the course still reaches the indexes.
LEFT JOIN (
    SELECT
        s.user_id,
        s.course_id,
        count(*) FILTER (WHERE coalesce(s.missing, false)
                               OR s.late_policy_status IS NOT DISTINCT FROM 'missing')::integer
            AS missing,
        count(*) FILTER (WHERE coalesce(s.late, false))::integer AS late
    FROM canvas.submissions AS s
    JOIN canvas.graded_assignments AS a ON a.id = s.assignment_id
    WHERE s.excused IS NOT TRUE
    GROUP BY s.user_id, s.course_id
) AS w ON w.user_id = sc.user_id AND w.course_id = sc.course_id
LEFT JOIN (
    SELECT DISTINCT ON (ra.user_id, ra.course_id)
        ra.user_id,
        ra.course_id,
        ra.category,
        ra.score,
        ra.factors,
        ra.assessed_at
    FROM history.risk_assessments AS ra
    ORDER BY ra.user_id, ra.course_id, ra.assessed_at DESC, ra.id DESC
) AS r ON r.user_id = sc.user_id AND r.course_id = sc.course_id
WHERE (NULLIF(:'course_id'::text, '') IS NULL OR sc.course_id = NULLIF(:'course_id'::text, '')::bigint)
  AND (NULLIF(:'user_id'::text, '') IS NULL OR sc.user_id = NULLIF(:'user_id'::text, '')::bigint)
ORDER BY c.name, sc.course_id, u.sortable_name, sc.user_id;
