-- Staging for a sync. First a digest of every record of a file goes to
-- pg_temp.hash_<kind> (record number in file order, digest); records whose digest a
-- stored row already carries are unchanged and listed in pg_temp.known_<kind>
-- without being sent. The other documents go to pg_temp.raw_<kind> as jsonb and are
-- typed into pg_temp.stage_<kind>: each merged over the stored one (keys Canvas left
-- out keep their known values: absent means unknown, not null), ids normalized to
-- global ids, and compared with the stored row (the merged document is computed once
-- per record: OFFSET 0 keeps PostgreSQL from pasting its expression into every column
-- that reads it). A row whose merged content is the
-- same is not rewritten, even if its bytes differ (its digest then stays the old one,
-- and the next sync compares its content again). Everything here is temporary and
-- disappears with the transaction.

-- name: widen_work_mem
-- Let this transaction's joins and sorts over the staged rows run in memory.
SELECT set_config('work_mem', :'size'::text, true);

-- name: widen_maintenance_work_mem
-- Let this transaction's index builds (a first sync's, sql/tracker/indexes.sql) sort in
-- memory.
SELECT set_config('maintenance_work_mem', :'size'::text, true);

-- name: widen_temp_buffers
-- Let this transaction's staging tables live in memory (possible only before the
-- session's first temporary table; the caller ignores a refusal).
SELECT set_config('temp_buffers', :'size'::text, true);

-- name: create_temp_stages
-- The temporary tables every sync uses, dropped at commit or rollback: the digests of
-- each file's records, those a stored row already carries, and what layer 0 saw. Each
-- table is rows of the system catalogs (with a toast table of its own when a column may
-- be long), written to the WAL like any row: make no more than a sync uses. So the
-- documents' tables come later, and only if a record is to be sent
-- (create_document_stages): an unchanged re-sync makes 18 tables, not 34. Their columns
-- carry no NOT NULL: the sync fills them from its own COPYs and statements, and
-- PostgreSQL 18 keeps each NOT NULL as a row of pg_constraint (with five index entries),
-- made and dropped again by every sync (a tenth of an unchanged re-sync's WAL).
DO $$
DECLARE
    kind text;
BEGIN
    -- Left over from an earlier sync in the same transaction: start afresh.
    DROP TABLE IF EXISTS pg_temp.seen, pg_temp.lifecycle_changes,
                         pg_temp.raw_grade_changes, pg_temp.stage_grade_changes;
    FOREACH kind IN ARRAY ARRAY['terms', 'courses', 'sections', 'users', 'assignment_groups',
                                'assignments', 'enrollments', 'submissions']
    LOOP
        EXECUTE format('DROP TABLE IF EXISTS pg_temp.hash_%s, pg_temp.known_%s, pg_temp.raw_%s,'
                       ' pg_temp.stage_%s, pg_temp.undo_%s', kind, kind, kind, kind, kind);
        EXECUTE format('CREATE TEMP TABLE hash_%s (record_no bigint, hash uuid)'
                       ' ON COMMIT DROP', kind);
        EXECUTE format('CREATE TEMP TABLE known_%s (record_no bigint, id bigint,'
                       ' course_id bigint) ON COMMIT DROP', kind);
    END LOOP;
    -- Keyed, so that whatever plan the lookups of lifecycle.objects in it get, each row of
    -- theirs costs one index probe, never a scan of it (sql/lifecycle/sync.sql). A unique
    -- index, not a primary key: the same probes, without the constraint rows.
    CREATE TEMP TABLE seen (kind text, id bigint, course_id bigint) ON COMMIT DROP;
    CREATE UNIQUE INDEX ON pg_temp.seen (kind, id);
    CREATE TEMP TABLE lifecycle_changes (kind text, id bigint, status text)
        ON COMMIT DROP;
END
$$;

-- name: create_document_stages
-- The documents of every kind (pg_temp.raw_<kind>) and their typed rows
-- (pg_temp.stage_<kind>), for a sync with any record to send, made once (after
-- create_temp_stages): a sync that sends nothing makes none.
DO $$
DECLARE
    kind text;
BEGIN
    IF to_regclass('pg_temp.stage_submissions') IS NOT NULL THEN
        RETURN;
    END IF;
    FOREACH kind IN ARRAY ARRAY['terms', 'courses', 'sections', 'users', 'assignment_groups',
                                'assignments', 'enrollments', 'submissions']
    LOOP
        EXECUTE format('CREATE TEMP TABLE raw_%s (record_no bigint, hash uuid,'
                       ' doc jsonb) ON COMMIT DROP', kind);
        EXECUTE format(
            'CREATE TEMP TABLE stage_%s (record_no bigint, id bigint, existed boolean, changed boolean,'
            ' rec canvas.%s) ON COMMIT DROP', kind, kind);
    END LOOP;
END
$$;

-- name: documents_staged
-- Whether this sync made the documents' tables (create_document_stages).
SELECT to_regclass('pg_temp.stage_submissions') IS NOT NULL;

-- name: create_grade_change_stages
-- The temporary tables of a bundle's Grade Change Log (sql/history/grade_changes.sql),
-- made only when the bundle holds one: its documents, then its events typed as the rows
-- of layer 2 they become.
DO $$
BEGIN
    CREATE TEMP TABLE raw_grade_changes (record_no bigint, hash uuid, doc jsonb) ON COMMIT DROP;
    CREATE TEMP TABLE stage_grade_changes (record_no bigint, rec history.grade_changes)
        ON COMMIT DROP;
END
$$;

-- name: create_undo_stages
-- The temporary tables of an undo, alone: the before-images of each table, typed as a
-- sync's staged rows.
DO $$
DECLARE
    kind text;
BEGIN
    FOREACH kind IN ARRAY ARRAY['terms', 'courses', 'sections', 'users', 'assignment_groups',
                                'assignments', 'enrollments', 'submissions']
    LOOP
        EXECUTE format('DROP TABLE IF EXISTS pg_temp.undo_%s', kind);
        EXECUTE format(
            'CREATE TEMP TABLE undo_%s (record_no bigint, id bigint, existed boolean, changed boolean,'
            ' rec canvas.%s) ON COMMIT DROP', kind, kind);
    END LOOP;
END
$$;

-- name: copy_hashes
-- Receive the digest of every record of one file, with its record number.
-- allow hashes: pg_temp.hash_terms, pg_temp.hash_courses, pg_temp.hash_sections, pg_temp.hash_users, pg_temp.hash_assignment_groups, pg_temp.hash_assignments, pg_temp.hash_enrollments, pg_temp.hash_submissions
COPY :"hashes" (record_no, hash) FROM STDIN;

-- name: table_is_empty
-- Whether a layer 1 table has no row at all (then every record is new: no digests needed).
-- allow table: canvas.terms, canvas.courses, canvas.sections, canvas.users, canvas.assignment_groups, canvas.assignments, canvas.enrollments, canvas.submissions
SELECT NOT EXISTS (SELECT 1 FROM :"table");

-- name: analyze_stage
-- Give the planner the size of a freshly filled temporary table (autovacuum never sees them).
-- allow stage: pg_temp.hash_terms, pg_temp.hash_courses, pg_temp.hash_sections, pg_temp.hash_users, pg_temp.hash_assignment_groups, pg_temp.hash_assignments, pg_temp.hash_enrollments, pg_temp.hash_submissions, pg_temp.known_terms, pg_temp.known_courses, pg_temp.known_sections, pg_temp.known_users, pg_temp.known_assignment_groups, pg_temp.known_assignments, pg_temp.known_enrollments, pg_temp.known_submissions, pg_temp.raw_terms, pg_temp.raw_courses, pg_temp.raw_sections, pg_temp.raw_users, pg_temp.raw_assignment_groups, pg_temp.raw_assignments, pg_temp.raw_enrollments, pg_temp.raw_submissions, pg_temp.stage_terms, pg_temp.stage_courses, pg_temp.stage_sections, pg_temp.stage_users, pg_temp.stage_assignment_groups, pg_temp.stage_assignments, pg_temp.stage_enrollments, pg_temp.stage_submissions, pg_temp.seen, pg_temp.raw_grade_changes, pg_temp.stage_grade_changes
ANALYZE :"stage";

-- name: find_known_global
-- Records of terms or users whose bytes a stored row already has: unchanged.
-- allow hashes: pg_temp.hash_terms, pg_temp.hash_users
-- allow known: pg_temp.known_terms, pg_temp.known_users
-- allow table: canvas.terms, canvas.users
INSERT INTO :"known" (record_no, id, course_id)
SELECT h.record_no, t.id, NULL
FROM :"hashes" AS h
JOIN :"table" AS t ON t.raw_hash = h.hash;

-- name: find_known_courses
-- Records of courses whose bytes a stored row already has: unchanged.
INSERT INTO pg_temp.known_courses (record_no, id, course_id)
SELECT h.record_no, t.id, t.id
FROM pg_temp.hash_courses AS h
JOIN canvas.courses AS t ON t.raw_hash = h.hash;

-- name: find_known_in_courses
-- Records of course-scoped objects whose bytes a stored row already has: unchanged.
-- allow hashes: pg_temp.hash_sections, pg_temp.hash_assignment_groups, pg_temp.hash_assignments, pg_temp.hash_enrollments, pg_temp.hash_submissions
-- allow known: pg_temp.known_sections, pg_temp.known_assignment_groups, pg_temp.known_assignments, pg_temp.known_enrollments, pg_temp.known_submissions
-- allow table: canvas.sections, canvas.assignment_groups, canvas.assignments, canvas.enrollments, canvas.submissions
INSERT INTO :"known" (record_no, id, course_id)
SELECT h.record_no, t.id, t.course_id
FROM :"hashes" AS h
JOIN :"table" AS t ON t.raw_hash = h.hash;

-- name: records_to_send
-- The records whose documents the server needs (new or changed), as ranges of record numbers.
-- allow hashes: pg_temp.hash_terms, pg_temp.hash_courses, pg_temp.hash_sections, pg_temp.hash_users, pg_temp.hash_assignment_groups, pg_temp.hash_assignments, pg_temp.hash_enrollments, pg_temp.hash_submissions
-- allow known: pg_temp.known_terms, pg_temp.known_courses, pg_temp.known_sections, pg_temp.known_users, pg_temp.known_assignment_groups, pg_temp.known_assignments, pg_temp.known_enrollments, pg_temp.known_submissions
SELECT min(record_no) AS first, max(record_no) AS last
FROM (
    SELECT h.record_no, h.record_no - row_number() OVER (ORDER BY h.record_no) AS run
    FROM :"hashes" AS h
    WHERE NOT EXISTS (SELECT 1 FROM :"known" AS k WHERE k.record_no = h.record_no)
) AS needed
GROUP BY run
ORDER BY first;

-- name: records_without_required_keys
-- Records that are not JSON objects, or lack a key Canvas always sends (or send it as null).
-- allow raw: pg_temp.raw_terms, pg_temp.raw_courses, pg_temp.raw_sections, pg_temp.raw_users, pg_temp.raw_assignment_groups, pg_temp.raw_assignments, pg_temp.raw_enrollments, pg_temp.raw_submissions, pg_temp.raw_grade_changes
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

-- name: sent_course_ids
-- The courses a bundle's new or changed records speak of (sent as documents): its
-- courses, and the courses of its course-scoped objects (a submission's through its
-- assignment, in the bundle or stored). Those of its unchanged records are
-- known_course_ids'; those of the grade changes it holds, if any,
-- grade_change_course_ids' (sql/history/grade_changes.sql).
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
    UNION
    SELECT coalesce(a.course_id, stored.course_id)
    FROM (  -- the assignments first: a million submissions name a few thousand
        SELECT DISTINCT tracker.canvas_id(doc -> 'assignment_id') AS assignment_id
        FROM pg_temp.raw_submissions
    ) AS r
    LEFT JOIN (SELECT DISTINCT tracker.canvas_id(doc -> 'id') AS id, tracker.canvas_id(doc -> 'course_id') AS course_id
               FROM pg_temp.raw_assignments) AS a
           ON a.id = r.assignment_id
    LEFT JOIN canvas.assignments AS stored ON stored.id = r.assignment_id
) AS found (course_id)
WHERE course_id IS NOT NULL;

-- name: known_course_ids
-- The courses of a bundle's unchanged records (known by their digest).
SELECT DISTINCT course_id
FROM (
    SELECT course_id FROM pg_temp.known_submissions
    UNION
    SELECT course_id FROM pg_temp.known_courses
    UNION
    SELECT course_id FROM pg_temp.known_sections
    UNION
    SELECT course_id FROM pg_temp.known_assignment_groups
    UNION
    SELECT course_id FROM pg_temp.known_assignments
    UNION
    SELECT course_id FROM pg_temp.known_enrollments
) AS found (course_id)
WHERE course_id IS NOT NULL;

-- name: stored_courses
-- Which of course_ids are stored in layer 1.
SELECT c.id
FROM canvas.courses AS c
WHERE c.id = ANY(:'course_ids'::bigint[])
ORDER BY c.id;

-- name: stage_terms
-- Type the bundle's terms.
INSERT INTO pg_temp.stage_terms (record_no, id, existed, changed, rec)
SELECT
    r.record_no,
    tracker.canvas_id(m.doc -> 'id'),
    t.id IS NOT NULL,
    t.raw IS DISTINCT FROM m.doc,
    ROW(
        tracker.canvas_id(m.doc -> 'id'),
        m.doc ->> 'name',
        tracker.canvas_time(m.doc ->> 'start_at'),
        tracker.canvas_time(m.doc ->> 'end_at'),
        tracker.canvas_time(m.doc ->> 'created_at'),
        m.doc ->> 'workflow_state',
        tracker.canvas_id(m.doc -> 'grading_period_group_id'),
        m.doc ->> 'sis_term_id',
        r.hash,
        m.doc,
        :'sync_id'::bigint
    )::canvas.terms
FROM pg_temp.raw_terms AS r
LEFT JOIN canvas.terms AS t ON t.id = tracker.canvas_id(r.doc -> 'id')
CROSS JOIN LATERAL (SELECT coalesce(t.raw || r.doc, r.doc) AS doc OFFSET 0) AS m;

-- name: stage_courses
-- Type the bundle's courses.
INSERT INTO pg_temp.stage_courses (record_no, id, existed, changed, rec)
SELECT
    r.record_no,
    tracker.canvas_id(m.doc -> 'id'),
    t.id IS NOT NULL,
    t.raw IS DISTINCT FROM m.doc,
    ROW(
        tracker.canvas_id(m.doc -> 'id'),
        m.doc ->> 'name',
        m.doc ->> 'original_name',
        m.doc ->> 'course_code',
        m.doc ->> 'uuid',
        tracker.canvas_id(m.doc -> 'account_id'),
        tracker.canvas_id(m.doc -> 'root_account_id'),
        tracker.canvas_id(m.doc -> 'enrollment_term_id'),
        tracker.canvas_id(m.doc -> 'grading_standard_id'),
        tracker.canvas_time(m.doc ->> 'start_at'),
        tracker.canvas_time(m.doc ->> 'end_at'),
        tracker.canvas_time(m.doc ->> 'created_at'),
        m.doc ->> 'time_zone',
        m.doc ->> 'workflow_state',
        tracker.canvas_bool(m.doc -> 'hide_final_grades'),
        tracker.canvas_bool(m.doc -> 'apply_assignment_group_weights'),
        m.doc ->> 'sis_course_id',
        r.hash,
        m.doc,
        :'sync_id'::bigint
    )::canvas.courses
FROM pg_temp.raw_courses AS r
LEFT JOIN canvas.courses AS t ON t.id = tracker.canvas_id(r.doc -> 'id')
CROSS JOIN LATERAL (SELECT coalesce(t.raw || r.doc, r.doc) AS doc OFFSET 0) AS m;

-- name: stage_sections
-- Type the bundle's sections.
INSERT INTO pg_temp.stage_sections (record_no, id, existed, changed, rec)
SELECT
    r.record_no,
    tracker.canvas_id(m.doc -> 'id'),
    t.id IS NOT NULL,
    t.raw IS DISTINCT FROM m.doc,
    ROW(
        tracker.canvas_id(m.doc -> 'id'),
        tracker.canvas_id(m.doc -> 'course_id'),
        m.doc ->> 'name',
        m.doc ->> 'sis_section_id',
        tracker.canvas_time(m.doc ->> 'start_at'),
        tracker.canvas_time(m.doc ->> 'end_at'),
        r.hash,
        m.doc,
        :'sync_id'::bigint
    )::canvas.sections
FROM pg_temp.raw_sections AS r
LEFT JOIN canvas.sections AS t ON t.id = tracker.canvas_id(r.doc -> 'id')
CROSS JOIN LATERAL (SELECT coalesce(t.raw || r.doc, r.doc) AS doc OFFSET 0) AS m;

-- name: stage_users
-- Type the bundle's users.
INSERT INTO pg_temp.stage_users (record_no, id, existed, changed, rec)
SELECT
    r.record_no,
    tracker.canvas_id(m.doc -> 'id'),
    t.id IS NOT NULL,
    t.raw IS DISTINCT FROM m.doc,
    ROW(
        tracker.canvas_id(m.doc -> 'id'),
        m.doc ->> 'name',
        m.doc ->> 'sortable_name',
        m.doc ->> 'short_name',
        m.doc ->> 'sis_user_id',
        m.doc ->> 'login_id',
        m.doc ->> 'email',
        tracker.canvas_time(m.doc ->> 'created_at'),
        r.hash,
        m.doc,
        :'sync_id'::bigint
    )::canvas.users
FROM pg_temp.raw_users AS r
LEFT JOIN canvas.users AS t ON t.id = tracker.canvas_id(r.doc -> 'id')
CROSS JOIN LATERAL (SELECT coalesce(t.raw || r.doc, r.doc) AS doc OFFSET 0) AS m;

-- name: stage_assignments
-- Type the bundle's assignments.
INSERT INTO pg_temp.stage_assignments (record_no, id, existed, changed, rec)
SELECT
    r.record_no,
    tracker.canvas_id(m.doc -> 'id'),
    t.id IS NOT NULL,
    t.raw IS DISTINCT FROM m.doc,
    ROW(
        tracker.canvas_id(m.doc -> 'id'),
        tracker.canvas_id(m.doc -> 'course_id'),
        tracker.canvas_id(m.doc -> 'assignment_group_id'),
        m.doc ->> 'name',
        (m.doc ->> 'position')::integer,
        (m.doc ->> 'points_possible')::numeric,
        m.doc ->> 'grading_type',
        tracker.canvas_text_array(m.doc -> 'submission_types'),
        tracker.canvas_time(m.doc ->> 'due_at'),
        tracker.canvas_time(m.doc ->> 'lock_at'),
        tracker.canvas_time(m.doc ->> 'unlock_at'),
        tracker.canvas_time(m.doc ->> 'created_at'),
        tracker.canvas_time(m.doc ->> 'updated_at'),
        tracker.canvas_bool(m.doc -> 'published'),
        m.doc ->> 'workflow_state',
        tracker.canvas_bool(m.doc -> 'omit_from_final_grade'),
        m.doc ->> 'sis_assignment_id',
        r.hash,
        m.doc,
        :'sync_id'::bigint
    )::canvas.assignments
FROM pg_temp.raw_assignments AS r
LEFT JOIN canvas.assignments AS t ON t.id = tracker.canvas_id(r.doc -> 'id')
CROSS JOIN LATERAL (SELECT coalesce(t.raw || r.doc, r.doc) AS doc OFFSET 0) AS m;

-- name: stage_assignment_groups
-- Type the bundle's assignment groups. Canvas leaves the course out of a group (it is
-- the endpoint's): take it from the document if present, else from the group's
-- assignments in the bundle, else from the stored group. Stage assignments first.
INSERT INTO pg_temp.stage_assignment_groups (record_no, id, existed, changed, rec)
SELECT
    r.record_no,
    tracker.canvas_id(m.doc -> 'id'),
    t.id IS NOT NULL,
    t.raw IS DISTINCT FROM m.doc,
    ROW(
        tracker.canvas_id(m.doc -> 'id'),
        coalesce(tracker.canvas_id(m.doc -> 'course_id'), ga.course_id, t.course_id),
        m.doc ->> 'name',
        (m.doc ->> 'position')::integer,
        (m.doc ->> 'group_weight')::numeric,
        m.doc -> 'rules',
        r.hash,
        m.doc,
        :'sync_id'::bigint
    )::canvas.assignment_groups
FROM pg_temp.raw_assignment_groups AS r
LEFT JOIN canvas.assignment_groups AS t ON t.id = tracker.canvas_id(r.doc -> 'id')
LEFT JOIN (
    SELECT DISTINCT ON ((a.rec).assignment_group_id)
           (a.rec).assignment_group_id AS group_id,
           (a.rec).course_id
    FROM pg_temp.stage_assignments AS a
    WHERE (a.rec).assignment_group_id IS NOT NULL
) AS ga ON ga.group_id = tracker.canvas_id(r.doc -> 'id')
CROSS JOIN LATERAL (SELECT coalesce(t.raw || r.doc, r.doc) AS doc OFFSET 0) AS m;

-- name: stage_enrollments
-- Type the bundle's enrollments; their grades, nested under "grades", become columns.
INSERT INTO pg_temp.stage_enrollments (record_no, id, existed, changed, rec)
SELECT
    r.record_no,
    tracker.canvas_id(m.doc -> 'id'),
    t.id IS NOT NULL,
    t.raw IS DISTINCT FROM m.doc,
    ROW(
        tracker.canvas_id(m.doc -> 'id'),
        tracker.canvas_id(m.doc -> 'user_id'),
        tracker.canvas_id(m.doc -> 'course_id'),
        tracker.canvas_id(m.doc -> 'course_section_id'),
        m.doc ->> 'type',
        m.doc ->> 'role',
        tracker.canvas_id(m.doc -> 'role_id'),
        m.doc ->> 'enrollment_state',
        tracker.canvas_id(m.doc -> 'associated_user_id'),
        m.doc ->> 'type' = 'StudentViewEnrollment',
        (g.grades ->> 'current_score')::numeric,
        (g.grades ->> 'final_score')::numeric,
        g.grades ->> 'current_grade',
        g.grades ->> 'final_grade',
        (g.grades ->> 'unposted_current_score')::numeric,
        (g.grades ->> 'unposted_final_score')::numeric,
        g.grades ->> 'unposted_current_grade',
        g.grades ->> 'unposted_final_grade',
        (g.grades ->> 'override_score')::numeric,
        g.grades ->> 'override_grade',
        (g.grades ->> 'current_points')::numeric,
        tracker.canvas_time(m.doc ->> 'last_activity_at'),
        tracker.canvas_time(m.doc ->> 'last_attended_at'),
        (m.doc ->> 'total_activity_time')::bigint,
        tracker.canvas_time(m.doc ->> 'start_at'),
        tracker.canvas_time(m.doc ->> 'end_at'),
        tracker.canvas_time(m.doc ->> 'created_at'),
        tracker.canvas_time(m.doc ->> 'updated_at'),
        r.hash,
        m.doc,
        :'sync_id'::bigint
    )::canvas.enrollments
FROM pg_temp.raw_enrollments AS r
LEFT JOIN canvas.enrollments AS t ON t.id = tracker.canvas_id(r.doc -> 'id')
CROSS JOIN LATERAL (
    -- grades is an object of its own: keys it leaves out keep their known values too
    SELECT CASE
               WHEN t.raw IS NULL THEN r.doc
               WHEN jsonb_typeof(t.raw -> 'grades') = 'object' AND jsonb_typeof(r.doc -> 'grades') = 'object'
                   THEN t.raw || r.doc || jsonb_build_object('grades', (t.raw -> 'grades') || (r.doc -> 'grades'))
               ELSE t.raw || r.doc
           END AS doc
    OFFSET 0
) AS m
CROSS JOIN LATERAL (
    SELECT CASE WHEN jsonb_typeof(m.doc -> 'grades') = 'object' THEN m.doc -> 'grades' END AS grades
) AS g;

-- name: stage_submissions
-- Type the bundle's submissions. Canvas leaves the course out of a submission: take it
-- from its assignment, in the bundle or stored. Stage assignments first.
INSERT INTO pg_temp.stage_submissions (record_no, id, existed, changed, rec)
SELECT
    r.record_no,
    tracker.canvas_id(m.doc -> 'id'),
    t.id IS NOT NULL,
    t.raw IS DISTINCT FROM m.doc,
    ROW(
        tracker.canvas_id(m.doc -> 'id'),
        coalesce((a.rec).course_id, stored_assignment.course_id),
        tracker.canvas_id(m.doc -> 'assignment_id'),
        tracker.canvas_id(m.doc -> 'user_id'),
        m.doc ->> 'anonymous_id',
        m.doc ->> 'submission_type',
        (m.doc ->> 'score')::numeric,
        m.doc ->> 'grade',
        (m.doc ->> 'entered_score')::numeric,
        m.doc ->> 'entered_grade',
        tracker.canvas_bool(m.doc -> 'excused'),
        (m.doc ->> 'attempt')::integer,
        m.doc ->> 'workflow_state',
        tracker.canvas_bool(m.doc -> 'late'),
        tracker.canvas_bool(m.doc -> 'missing'),
        m.doc ->> 'late_policy_status',
        (m.doc ->> 'seconds_late')::bigint,
        (m.doc ->> 'points_deducted')::numeric,
        tracker.canvas_time(m.doc ->> 'submitted_at'),
        tracker.canvas_time(m.doc ->> 'graded_at'),
        tracker.canvas_time(m.doc ->> 'posted_at'),
        tracker.canvas_time(m.doc ->> 'cached_due_date'),
        tracker.canvas_id(m.doc -> 'grader_id'),
        r.hash,
        m.doc,
        :'sync_id'::bigint
    )::canvas.submissions
FROM pg_temp.raw_submissions AS r
LEFT JOIN canvas.submissions AS t ON t.id = tracker.canvas_id(r.doc -> 'id')
CROSS JOIN LATERAL (SELECT coalesce(t.raw || r.doc, r.doc) AS doc OFFSET 0) AS m
LEFT JOIN pg_temp.stage_assignments AS a ON a.id = tracker.canvas_id(m.doc -> 'assignment_id')
LEFT JOIN canvas.assignments AS stored_assignment ON stored_assignment.id = tracker.canvas_id(m.doc -> 'assignment_id');

-- name: duplicate_ids
-- Canvas ids that occur more than once in one file, with the records holding them.
-- allow stage: pg_temp.stage_terms, pg_temp.stage_courses, pg_temp.stage_sections, pg_temp.stage_users, pg_temp.stage_assignment_groups, pg_temp.stage_assignments, pg_temp.stage_enrollments, pg_temp.stage_submissions
-- allow known: pg_temp.known_terms, pg_temp.known_courses, pg_temp.known_sections, pg_temp.known_users, pg_temp.known_assignment_groups, pg_temp.known_assignments, pg_temp.known_enrollments, pg_temp.known_submissions
SELECT s.id, array_agg(s.record_no ORDER BY s.record_no) AS record_nos
FROM (
    SELECT id, record_no FROM :"stage"
    UNION ALL
    SELECT id, record_no FROM :"known"
) AS s
GROUP BY s.id
HAVING count(*) > 1
ORDER BY min(s.record_no)
LIMIT :'limit'::integer;

-- name: duplicate_known_ids
-- duplicate_ids for a sync that sent no document: among the unchanged records alone.
-- allow known: pg_temp.known_terms, pg_temp.known_courses, pg_temp.known_sections, pg_temp.known_users, pg_temp.known_assignment_groups, pg_temp.known_assignments, pg_temp.known_enrollments, pg_temp.known_submissions
SELECT k.id, array_agg(k.record_no ORDER BY k.record_no) AS record_nos
FROM :"known" AS k
GROUP BY k.id
HAVING count(*) > 1
ORDER BY min(k.record_no)
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
-- How many records are new, changed and unchanged (known by their digest, or by content).
-- allow stage: pg_temp.stage_terms, pg_temp.stage_courses, pg_temp.stage_sections, pg_temp.stage_users, pg_temp.stage_assignment_groups, pg_temp.stage_assignments, pg_temp.stage_enrollments, pg_temp.stage_submissions
-- allow known: pg_temp.known_terms, pg_temp.known_courses, pg_temp.known_sections, pg_temp.known_users, pg_temp.known_assignment_groups, pg_temp.known_assignments, pg_temp.known_enrollments, pg_temp.known_submissions
SELECT
    count(*) FILTER (WHERE NOT s.existed)               AS inserted,
    count(*) FILTER (WHERE s.existed AND s.changed)     AS updated,
    count(*) FILTER (WHERE s.existed AND NOT s.changed)
        + (SELECT count(*) FROM :"known")               AS unchanged
FROM :"stage" AS s;

-- name: known_counts
-- stage_counts for a sync that sent no document: every record is unchanged.
-- allow known: pg_temp.known_terms, pg_temp.known_courses, pg_temp.known_sections, pg_temp.known_users, pg_temp.known_assignment_groups, pg_temp.known_assignments, pg_temp.known_enrollments, pg_temp.known_submissions
SELECT 0 AS inserted, 0 AS updated, count(*) AS unchanged
FROM :"known";

-- name: copy_documents
-- Receive the documents of one file's new or changed records, with number and digest.
-- allow raw: pg_temp.raw_terms, pg_temp.raw_courses, pg_temp.raw_sections, pg_temp.raw_users, pg_temp.raw_assignment_groups, pg_temp.raw_assignments, pg_temp.raw_enrollments, pg_temp.raw_submissions, pg_temp.raw_grade_changes
COPY :"raw" (record_no, hash, doc) FROM STDIN;

-- name: courses_with_submissions
-- Which of these courses have a submission stored (the others' are all new: the
-- first-sight path takes them).
SELECT c.course_id
FROM unnest(:'course_ids'::bigint[]) AS c (course_id)
WHERE EXISTS (SELECT 1 FROM canvas.submissions AS s WHERE s.course_id = c.course_id);

-- name: bundle_assignment_courses
-- The course of each assignment the bundle holds or these courses have stored: which
-- submissions are of courses new to layer 1 (their assignment's course tells).
SELECT tracker.canvas_id(r.doc -> 'id'), tracker.canvas_id(r.doc -> 'course_id')
FROM pg_temp.raw_assignments AS r
UNION ALL
SELECT k.id, k.course_id
FROM pg_temp.known_assignments AS k
UNION ALL
SELECT a.id, a.course_id
FROM canvas.assignments AS a
WHERE a.course_id = ANY(:'course_ids'::bigint[]);
