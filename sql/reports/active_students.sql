-- Active students: who is in each course, one row per student and course.
--
-- Run:   psql -X -v ON_ERROR_STOP=1 -v course_id=42 -f sql/reports/active_students.sql
-- Takes: -v course_id=ID   one course; empty (course_id=) for every course
-- The variable must be given (psql leaves an unset :'name' in the text); an empty value
-- means "no filter".
--
-- The roster every report counts from (canvas.active_students): active student
-- enrollments, not the test student, not marked missing in layer 0. A student enrolled
-- in two sections of a course is one row, with both sections. Teachers, TAs, observers
-- and designers are not students. The view reports.active_students (migration
-- 0018_reports_views) is this SELECT without the filter and the order.

-- name: active_students
-- The active students of each course, by course and name.
SELECT
    e.course_id,
    c.name AS course,
    c.course_code,
    c.sis_course_id,
    e.user_id,
    u.name AS student,
    u.sortable_name,
    u.sis_user_id,
    array_agg(DISTINCT coalesce(s.name, 'section ' || e.course_section_id)) AS sections,
    array_agg(e.id ORDER BY e.id) AS enrollment_ids
FROM canvas.active_students AS e
JOIN canvas.users AS u ON u.id = e.user_id
JOIN canvas.courses AS c ON c.id = e.course_id
LEFT JOIN canvas.sections AS s ON s.id = e.course_section_id
WHERE (NULLIF(:'course_id'::text, '') IS NULL OR e.course_id = NULLIF(:'course_id'::text, '')::bigint)
GROUP BY e.course_id, c.name, c.course_code, c.sis_course_id, e.user_id, u.name,
         u.sortable_name, u.sis_user_id
ORDER BY c.name, e.course_id, u.sortable_name, e.user_id;
