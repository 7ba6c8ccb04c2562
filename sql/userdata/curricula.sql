-- Curricula (e.g. web_dev, data_science): named sets of courses, and their students.

-- name: create_curriculum
-- Create a curriculum; returns nothing if one of that name exists.
INSERT INTO userdata.curricula (name, description, created_by)
VALUES (:'name'::text, :'description'::text, :'actor'::text)
ON CONFLICT (name) DO NOTHING
RETURNING id;

-- name: curriculum_id
-- The id of the curriculum of that name.
SELECT id
FROM userdata.curricula
WHERE name = :'name'::text;

-- name: delete_curriculum
-- Delete a curriculum that holds no course any more; returns its id.
DELETE FROM userdata.curricula
WHERE id = :'id'::bigint
RETURNING id;

-- name: add_curriculum_courses
-- Put courses into a curriculum; returns the courses added (those already in it are not).
INSERT INTO userdata.curriculum_courses (curriculum_id, course_id, added_by)
SELECT :'curriculum_id'::bigint, c.id, :'actor'::text
FROM canvas.courses AS c
WHERE c.id = ANY(:'course_ids'::bigint[])
ORDER BY c.id
ON CONFLICT DO NOTHING
RETURNING course_id;

-- name: remove_curriculum_courses
-- Take courses out of a curriculum; returns the courses removed.
DELETE FROM userdata.curriculum_courses
WHERE curriculum_id = :'curriculum_id'::bigint
  AND course_id = ANY(:'course_ids'::bigint[])
RETURNING course_id;

-- name: unknown_courses
-- Which of the given course ids layer 1 does not hold.
SELECT asked.id
FROM unnest(:'course_ids'::bigint[]) AS asked (id)
WHERE NOT EXISTS (SELECT 1 FROM canvas.courses AS c WHERE c.id = asked.id)
ORDER BY asked.id;

-- name: list_curricula
-- Every curriculum, with how many courses it holds.
SELECT cu.id, cu.name, cu.description, cu.created_by, cu.created_at, count(cc.course_id) AS courses
FROM userdata.curricula AS cu
LEFT JOIN userdata.curriculum_courses AS cc ON cc.curriculum_id = cu.id
GROUP BY cu.id
ORDER BY cu.name;

-- name: curriculum_course_list
-- The courses of one curriculum, with their term.
SELECT c.id AS course_id, c.name, c.course_code, t.name AS term, cc.added_by, cc.added_at
FROM userdata.curriculum_courses AS cc
JOIN canvas.courses AS c ON c.id = cc.course_id
LEFT JOIN canvas.terms AS t ON t.id = c.enrollment_term_id
WHERE cc.curriculum_id = :'curriculum_id'::bigint
ORDER BY c.name, c.id;
