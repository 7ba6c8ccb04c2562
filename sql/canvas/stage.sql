-- Staging for a sync: the bundle's documents are copied into pg_temp.raw_<kind>
-- (one jsonb document per record, numbered in file order), then typed into
-- pg_temp.stage_<kind>: each document merged over the stored one (keys Canvas left
-- out keep their known values: absent means unknown, not null), ids normalized to
-- global ids, and compared with the stored row. Everything here is temporary and
-- disappears with the transaction.

-- name: create_temp_stages
-- The temporary tables of one sync (and of an undo), dropped at commit or rollback.
DO $$
DECLARE
    kind text;
BEGIN
    -- Left over from an earlier sync in the same transaction: start afresh.
    DROP TABLE IF EXISTS pg_temp.seen, pg_temp.lifecycle_changes;
    FOREACH kind IN ARRAY ARRAY['terms', 'courses', 'sections', 'users', 'assignment_groups',
                                'assignments', 'enrollments', 'submissions']
    LOOP
        EXECUTE format('DROP TABLE IF EXISTS pg_temp.raw_%s, pg_temp.stage_%s, pg_temp.undo_%s',
                       kind, kind, kind);
        EXECUTE format(
            'CREATE TEMP TABLE raw_%s (record_no bigint GENERATED ALWAYS AS IDENTITY, doc jsonb NOT NULL)'
            ' ON COMMIT DROP', kind);
        EXECUTE format(
            'CREATE TEMP TABLE stage_%s (record_no bigint, id bigint, existed boolean, changed boolean,'
            ' rec canvas.%s) ON COMMIT DROP', kind, kind);
        EXECUTE format('CREATE TEMP TABLE undo_%s (LIKE pg_temp.stage_%s) ON COMMIT DROP', kind, kind);
    END LOOP;
    CREATE TEMP TABLE seen (kind text NOT NULL, id bigint NOT NULL, course_id bigint) ON COMMIT DROP;
    CREATE TEMP TABLE lifecycle_changes (kind text NOT NULL, id bigint NOT NULL, status text NOT NULL)
        ON COMMIT DROP;
END
$$;

-- name: records_without_required_keys
-- Records that are not JSON objects, or lack a key Canvas always sends (or send it as null).
-- allow raw: pg_temp.raw_terms, pg_temp.raw_courses, pg_temp.raw_sections, pg_temp.raw_users, pg_temp.raw_assignment_groups, pg_temp.raw_assignments, pg_temp.raw_enrollments, pg_temp.raw_submissions
SELECT
    r.record_no,
    CASE WHEN jsonb_typeof(r.doc) = 'object' THEN r.doc ->> 'id' END AS canvas_id,
    jsonb_typeof(r.doc) AS json_type,
    array(SELECT k FROM unnest(:'required'::text[]) AS k
          WHERE coalesce(jsonb_typeof(r.doc -> k), 'null') = 'null') AS missing_keys
FROM :"raw" AS r
WHERE jsonb_typeof(r.doc) <> 'object'
   OR EXISTS (SELECT 1 FROM unnest(:'required'::text[]) AS k
              WHERE coalesce(jsonb_typeof(r.doc -> k), 'null') = 'null')
ORDER BY r.record_no
LIMIT :'limit'::integer;

-- name: records_with_lenient_values
-- Records holding a timestamp or a boolean that PostgreSQL would take but Canvas never
-- sends ('yesterday', '2026-09-15 10:00' with no zone, 'yes'), which typing would store
-- silently (the others fail loudly when typed): their record numbers.
-- allow raw: pg_temp.raw_terms, pg_temp.raw_courses, pg_temp.raw_sections, pg_temp.raw_users, pg_temp.raw_assignment_groups, pg_temp.raw_assignments, pg_temp.raw_enrollments, pg_temp.raw_submissions
SELECT r.record_no
FROM :"raw" AS r
WHERE jsonb_typeof(r.doc) = 'object'
  AND (EXISTS (SELECT 1 FROM unnest(:'time_fields'::text[]) AS f
               WHERE jsonb_typeof(r.doc -> f) NOT IN ('string', 'null')
                  OR (r.doc ->> f) !~ '^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$')
       OR EXISTS (SELECT 1 FROM unnest(:'bool_fields'::text[]) AS f
                  WHERE jsonb_typeof(r.doc -> f) NOT IN ('boolean', 'null')))
ORDER BY r.record_no
LIMIT :'limit'::integer;

-- name: scope_course_ids
-- The courses a bundle speaks of: its courses, and the courses of its course-scoped objects.
SELECT DISTINCT course_id
FROM (
    SELECT tracker.canvas_id(doc -> 'id') FROM pg_temp.raw_courses
    UNION
    SELECT tracker.canvas_id(doc -> 'course_id') FROM pg_temp.raw_sections
    UNION
    SELECT tracker.canvas_id(doc -> 'course_id') FROM pg_temp.raw_assignment_groups
    UNION
    SELECT tracker.canvas_id(doc -> 'course_id') FROM pg_temp.raw_assignments
    UNION
    SELECT tracker.canvas_id(doc -> 'course_id') FROM pg_temp.raw_enrollments
) AS found (course_id)
WHERE course_id IS NOT NULL
ORDER BY course_id;

-- name: stage_terms
-- Type the bundle's terms.
INSERT INTO pg_temp.stage_terms (record_no, id, existed, changed, rec)
SELECT r.record_no, n.id, t.id IS NOT NULL, t.raw IS DISTINCT FROM m.doc,
       jsonb_populate_record(NULL::canvas.terms, n.doc)
FROM pg_temp.raw_terms AS r
LEFT JOIN canvas.terms AS t ON t.id = tracker.canvas_id(r.doc -> 'id')
CROSS JOIN LATERAL (SELECT coalesce(t.raw || r.doc, r.doc) AS doc) AS m
CROSS JOIN LATERAL (
    SELECT tracker.canvas_id(m.doc -> 'id') AS id,
           m.doc || jsonb_build_object(
               'id', tracker.canvas_id(m.doc -> 'id'),
               'grading_period_group_id', tracker.canvas_id(m.doc -> 'grading_period_group_id'),
               'raw', m.doc,
               'sync_id', :'sync_id'::bigint) AS doc
) AS n;

-- name: stage_courses
-- Type the bundle's courses.
INSERT INTO pg_temp.stage_courses (record_no, id, existed, changed, rec)
SELECT r.record_no, n.id, t.id IS NOT NULL, t.raw IS DISTINCT FROM m.doc,
       jsonb_populate_record(NULL::canvas.courses, n.doc)
FROM pg_temp.raw_courses AS r
LEFT JOIN canvas.courses AS t ON t.id = tracker.canvas_id(r.doc -> 'id')
CROSS JOIN LATERAL (SELECT coalesce(t.raw || r.doc, r.doc) AS doc) AS m
CROSS JOIN LATERAL (
    SELECT tracker.canvas_id(m.doc -> 'id') AS id,
           m.doc || jsonb_build_object(
               'id', tracker.canvas_id(m.doc -> 'id'),
               'account_id', tracker.canvas_id(m.doc -> 'account_id'),
               'root_account_id', tracker.canvas_id(m.doc -> 'root_account_id'),
               'enrollment_term_id', tracker.canvas_id(m.doc -> 'enrollment_term_id'),
               'grading_standard_id', tracker.canvas_id(m.doc -> 'grading_standard_id'),
               'raw', m.doc,
               'sync_id', :'sync_id'::bigint) AS doc
) AS n;

-- name: stage_sections
-- Type the bundle's sections.
INSERT INTO pg_temp.stage_sections (record_no, id, existed, changed, rec)
SELECT r.record_no, n.id, t.id IS NOT NULL, t.raw IS DISTINCT FROM m.doc,
       jsonb_populate_record(NULL::canvas.sections, n.doc)
FROM pg_temp.raw_sections AS r
LEFT JOIN canvas.sections AS t ON t.id = tracker.canvas_id(r.doc -> 'id')
CROSS JOIN LATERAL (SELECT coalesce(t.raw || r.doc, r.doc) AS doc) AS m
CROSS JOIN LATERAL (
    SELECT tracker.canvas_id(m.doc -> 'id') AS id,
           m.doc || jsonb_build_object(
               'id', tracker.canvas_id(m.doc -> 'id'),
               'course_id', tracker.canvas_id(m.doc -> 'course_id'),
               'raw', m.doc,
               'sync_id', :'sync_id'::bigint) AS doc
) AS n;

-- name: stage_users
-- Type the bundle's users.
INSERT INTO pg_temp.stage_users (record_no, id, existed, changed, rec)
SELECT r.record_no, n.id, t.id IS NOT NULL, t.raw IS DISTINCT FROM m.doc,
       jsonb_populate_record(NULL::canvas.users, n.doc)
FROM pg_temp.raw_users AS r
LEFT JOIN canvas.users AS t ON t.id = tracker.canvas_id(r.doc -> 'id')
CROSS JOIN LATERAL (SELECT coalesce(t.raw || r.doc, r.doc) AS doc) AS m
CROSS JOIN LATERAL (
    SELECT tracker.canvas_id(m.doc -> 'id') AS id,
           m.doc || jsonb_build_object(
               'id', tracker.canvas_id(m.doc -> 'id'),
               'raw', m.doc,
               'sync_id', :'sync_id'::bigint) AS doc
) AS n;

-- name: stage_assignments
-- Type the bundle's assignments.
INSERT INTO pg_temp.stage_assignments (record_no, id, existed, changed, rec)
SELECT r.record_no, n.id, t.id IS NOT NULL, t.raw IS DISTINCT FROM m.doc,
       jsonb_populate_record(NULL::canvas.assignments, n.doc)
FROM pg_temp.raw_assignments AS r
LEFT JOIN canvas.assignments AS t ON t.id = tracker.canvas_id(r.doc -> 'id')
CROSS JOIN LATERAL (SELECT coalesce(t.raw || r.doc, r.doc) AS doc) AS m
CROSS JOIN LATERAL (
    SELECT tracker.canvas_id(m.doc -> 'id') AS id,
           m.doc || jsonb_build_object(
               'id', tracker.canvas_id(m.doc -> 'id'),
               'course_id', tracker.canvas_id(m.doc -> 'course_id'),
               'assignment_group_id', tracker.canvas_id(m.doc -> 'assignment_group_id'),
               'grading_standard_id', tracker.canvas_id(m.doc -> 'grading_standard_id'),
               'raw', m.doc,
               'sync_id', :'sync_id'::bigint) AS doc
) AS n;

-- name: stage_assignment_groups
-- Type the bundle's assignment groups. Canvas leaves the course out of a group (it is
-- the endpoint's): take it from the document if present, else from the group's
-- assignments in the bundle, else from the stored group. Stage assignments first.
INSERT INTO pg_temp.stage_assignment_groups (record_no, id, existed, changed, rec)
SELECT r.record_no, n.id, t.id IS NOT NULL, t.raw IS DISTINCT FROM m.doc,
       jsonb_populate_record(NULL::canvas.assignment_groups, n.doc)
FROM pg_temp.raw_assignment_groups AS r
LEFT JOIN canvas.assignment_groups AS t ON t.id = tracker.canvas_id(r.doc -> 'id')
LEFT JOIN (
    SELECT DISTINCT ON ((a.rec).assignment_group_id)
           (a.rec).assignment_group_id AS group_id,
           (a.rec).course_id
    FROM pg_temp.stage_assignments AS a
    WHERE (a.rec).assignment_group_id IS NOT NULL
) AS ga ON ga.group_id = tracker.canvas_id(r.doc -> 'id')
CROSS JOIN LATERAL (SELECT coalesce(t.raw || r.doc, r.doc) AS doc) AS m
CROSS JOIN LATERAL (
    SELECT tracker.canvas_id(m.doc -> 'id') AS id,
           m.doc || jsonb_build_object(
               'id', tracker.canvas_id(m.doc -> 'id'),
               'course_id', coalesce(tracker.canvas_id(m.doc -> 'course_id'), ga.course_id, t.course_id),
               'raw', m.doc,
               'sync_id', :'sync_id'::bigint) AS doc
) AS n;

-- name: stage_enrollments
-- Type the bundle's enrollments; their grades, nested under "grades", become columns.
INSERT INTO pg_temp.stage_enrollments (record_no, id, existed, changed, rec)
SELECT r.record_no, n.id, t.id IS NOT NULL, t.raw IS DISTINCT FROM m.doc,
       jsonb_populate_record(NULL::canvas.enrollments, n.doc)
FROM pg_temp.raw_enrollments AS r
LEFT JOIN canvas.enrollments AS t ON t.id = tracker.canvas_id(r.doc -> 'id')
CROSS JOIN LATERAL (SELECT coalesce(t.raw || r.doc, r.doc) AS doc) AS m
CROSS JOIN LATERAL (
    SELECT tracker.canvas_id(m.doc -> 'id') AS id,
           m.doc
           || CASE WHEN jsonb_typeof(m.doc -> 'grades') = 'object' THEN m.doc -> 'grades' ELSE '{}' END
           || jsonb_build_object(
               'id', tracker.canvas_id(m.doc -> 'id'),
               'user_id', tracker.canvas_id(m.doc -> 'user_id'),
               'course_id', tracker.canvas_id(m.doc -> 'course_id'),
               'course_section_id', tracker.canvas_id(m.doc -> 'course_section_id'),
               'role_id', tracker.canvas_id(m.doc -> 'role_id'),
               'associated_user_id', tracker.canvas_id(m.doc -> 'associated_user_id'),
               'is_test_student', m.doc ->> 'type' = 'StudentViewEnrollment',
               'raw', m.doc,
               'sync_id', :'sync_id'::bigint) AS doc
) AS n;

-- name: stage_submissions
-- Type the bundle's submissions. Canvas leaves the course out of a submission: take it
-- from its assignment, in the bundle or stored. Stage assignments first.
INSERT INTO pg_temp.stage_submissions (record_no, id, existed, changed, rec)
SELECT r.record_no, n.id, t.id IS NOT NULL, t.raw IS DISTINCT FROM m.doc,
       jsonb_populate_record(NULL::canvas.submissions, n.doc)
FROM pg_temp.raw_submissions AS r
LEFT JOIN canvas.submissions AS t ON t.id = tracker.canvas_id(r.doc -> 'id')
CROSS JOIN LATERAL (SELECT coalesce(t.raw || r.doc, r.doc) AS doc) AS m
LEFT JOIN pg_temp.stage_assignments AS a ON a.id = tracker.canvas_id(m.doc -> 'assignment_id')
LEFT JOIN canvas.assignments AS ca ON ca.id = tracker.canvas_id(m.doc -> 'assignment_id')
CROSS JOIN LATERAL (
    SELECT tracker.canvas_id(m.doc -> 'id') AS id,
           m.doc || jsonb_build_object(
               'id', tracker.canvas_id(m.doc -> 'id'),
               'course_id', coalesce((a.rec).course_id, ca.course_id),
               'assignment_id', tracker.canvas_id(m.doc -> 'assignment_id'),
               'user_id', tracker.canvas_id(m.doc -> 'user_id'),
               'grader_id', tracker.canvas_id(m.doc -> 'grader_id'),
               'raw', m.doc,
               'sync_id', :'sync_id'::bigint) AS doc
) AS n;

-- name: duplicate_ids
-- Canvas ids that occur more than once in one file, with the records holding them.
-- allow stage: pg_temp.stage_terms, pg_temp.stage_courses, pg_temp.stage_sections, pg_temp.stage_users, pg_temp.stage_assignment_groups, pg_temp.stage_assignments, pg_temp.stage_enrollments, pg_temp.stage_submissions
SELECT s.id, array_agg(s.record_no ORDER BY s.record_no) AS record_nos
FROM :"stage" AS s
GROUP BY s.id
HAVING count(*) > 1
ORDER BY min(s.record_no)
LIMIT :'limit'::integer;

-- name: dangling_references
-- Staged records whose reference is neither in the bundle nor in the database.
-- allow stage: pg_temp.stage_courses, pg_temp.stage_sections, pg_temp.stage_assignment_groups, pg_temp.stage_assignments, pg_temp.stage_enrollments, pg_temp.stage_submissions
-- allow field: enrollment_term_id, course_id, assignment_group_id, user_id, course_section_id, assignment_id
-- allow parent_stage: pg_temp.stage_terms, pg_temp.stage_courses, pg_temp.stage_sections, pg_temp.stage_users, pg_temp.stage_assignment_groups, pg_temp.stage_assignments
-- allow parent_table: canvas.terms, canvas.courses, canvas.sections, canvas.users, canvas.assignment_groups, canvas.assignments
SELECT s.record_no, s.id, (s.rec).:"field" AS reference
FROM :"stage" AS s
WHERE (s.rec).:"field" IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM :"parent_stage" AS p WHERE p.id = (s.rec).:"field")
  AND NOT EXISTS (SELECT 1 FROM :"parent_table" AS t WHERE t.id = (s.rec).:"field")
ORDER BY s.record_no
LIMIT :'limit'::integer;

-- name: submissions_without_course
-- Staged submissions whose assignment (and so whose course) is unknown.
SELECT s.record_no, s.id, (s.rec).assignment_id AS reference
FROM pg_temp.stage_submissions AS s
WHERE (s.rec).course_id IS NULL
ORDER BY s.record_no
LIMIT :'limit'::integer;

-- name: groups_without_course
-- Staged assignment groups whose course is unknown (no course_id, no assignment in the bundle).
SELECT s.record_no, s.id
FROM pg_temp.stage_assignment_groups AS s
WHERE (s.rec).course_id IS NULL
ORDER BY s.record_no
LIMIT :'limit'::integer;

-- name: stage_counts
-- How many staged rows are new, changed and unchanged.
-- allow stage: pg_temp.stage_terms, pg_temp.stage_courses, pg_temp.stage_sections, pg_temp.stage_users, pg_temp.stage_assignment_groups, pg_temp.stage_assignments, pg_temp.stage_enrollments, pg_temp.stage_submissions
SELECT
    count(*) FILTER (WHERE NOT s.existed)              AS inserted,
    count(*) FILTER (WHERE s.existed AND s.changed)     AS updated,
    count(*) FILTER (WHERE s.existed AND NOT s.changed) AS unchanged
FROM :"stage" AS s;

-- name: copy_documents
-- Receive one file's documents, one JSON object a line, in file order.
-- allow raw: pg_temp.raw_terms, pg_temp.raw_courses, pg_temp.raw_sections, pg_temp.raw_users, pg_temp.raw_assignment_groups, pg_temp.raw_assignments, pg_temp.raw_enrollments, pg_temp.raw_submissions
COPY :"raw" (doc) FROM STDIN;
