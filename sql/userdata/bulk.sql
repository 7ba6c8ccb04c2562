-- Bulk import and export of notes and tags. Import: the file's rows, checked field by
-- field in Python, are copied (COPY) into a staging table, checked against the
-- database here, and written with one statement each; any problem leaves nothing
-- written. Export: COPY … TO STDOUT.

-- name: create_import_tables
-- The staging tables of one import, dropped at commit or rollback.
DO $$
BEGIN
    DROP TABLE IF EXISTS pg_temp.import_notes, pg_temp.import_tags;
    CREATE TEMP TABLE import_notes (
        record_no    bigint NOT NULL,
        id           bigint,
        subject_type text NOT NULL,
        subject_id   bigint NOT NULL,
        body         text NOT NULL,
        author       text NOT NULL,
        created_at   timestamptz
    ) ON COMMIT DROP;
    CREATE TEMP TABLE import_tags (
        record_no    bigint NOT NULL,
        tag          text NOT NULL,
        subject_type text NOT NULL,
        subject_id   bigint NOT NULL,
        tagged_by    text NOT NULL,
        tagged_at    timestamptz
    ) ON COMMIT DROP;
END
$$;

-- name: copy_import_notes
-- Stream checked note rows into the staging table.
COPY pg_temp.import_notes (record_no, id, subject_type, subject_id, body, author, created_at)
FROM STDIN;

-- name: copy_import_tags
-- Stream checked tag rows (names normalized) into the staging table.
COPY pg_temp.import_tags (record_no, tag, subject_type, subject_id, tagged_by, tagged_at)
FROM STDIN;

-- name: imported_subjects_unknown
-- Staged rows whose subject layer 1 does not hold.
-- allow stage: pg_temp.import_notes, pg_temp.import_tags
SELECT s.record_no, s.subject_type, s.subject_id
FROM :"stage" AS s
WHERE NOT (
       (s.subject_type = 'user' AND EXISTS (SELECT 1 FROM canvas.users AS u WHERE u.id = s.subject_id))
    OR (s.subject_type = 'course' AND EXISTS (SELECT 1 FROM canvas.courses AS c WHERE c.id = s.subject_id))
    OR (s.subject_type = 'assignment'
        AND EXISTS (SELECT 1 FROM canvas.assignments AS a WHERE a.id = s.subject_id)))
ORDER BY s.record_no
LIMIT :'limit'::integer;

-- name: imported_notes_unknown_ids
-- Staged notes naming an id that no note has.
SELECT s.record_no, s.id
FROM pg_temp.import_notes AS s
WHERE s.id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM userdata.notes AS n WHERE n.id = s.id)
ORDER BY s.record_no
LIMIT :'limit'::integer;

-- name: imported_notes_duplicate_ids
-- Note ids that occur more than once in the file.
SELECT s.id, array_agg(s.record_no ORDER BY s.record_no) AS record_nos
FROM pg_temp.import_notes AS s
WHERE s.id IS NOT NULL
GROUP BY s.id
HAVING count(*) > 1
ORDER BY min(s.record_no)
LIMIT :'limit'::integer;

-- name: imported_notes_moved
-- Staged notes that name an existing note but another subject: a note stays with its subject.
SELECT s.record_no, s.id, n.subject_type, n.subject_id
FROM pg_temp.import_notes AS s
JOIN userdata.notes AS n ON n.id = s.id
WHERE (n.subject_type, n.subject_id) IS DISTINCT FROM (s.subject_type, s.subject_id)
ORDER BY s.record_no
LIMIT :'limit'::integer;

-- name: update_imported_notes
-- Rewrite the notes the file names by id whose body changed.
UPDATE userdata.notes AS n
SET body = s.body,
    updated_at = now()
FROM pg_temp.import_notes AS s
WHERE n.id = s.id
  AND n.body IS DISTINCT FROM s.body;

-- name: insert_imported_notes
-- Add the notes the file gives without an id.
INSERT INTO userdata.notes (subject_type, subject_id, body, author, created_at, updated_at)
SELECT s.subject_type, s.subject_id, s.body, s.author,
       coalesce(s.created_at, now()), coalesce(s.created_at, now())
FROM pg_temp.import_notes AS s
WHERE s.id IS NULL
ORDER BY s.record_no;

-- name: resolve_imported_tags
-- Replace each staged tag name by the name it stands for (its synonym's canonical name).
UPDATE pg_temp.import_tags AS s
SET tag = syn.canonical
FROM userdata.tag_synonyms AS syn
WHERE syn.alias = s.tag;

-- name: insert_imported_tag_names
-- Create the tags the file names that do not exist yet; returns how many.
INSERT INTO userdata.tags (name, created_by)
SELECT DISTINCT ON (s.tag) s.tag, s.tagged_by
FROM pg_temp.import_tags AS s
ORDER BY s.tag, s.record_no
ON CONFLICT (name) DO NOTHING;

-- name: insert_imported_tag_links
-- Link the tags to their subjects (links that exist already are left as they are).
INSERT INTO userdata.tag_links (tag_id, subject_type, subject_id, tagged_by, tagged_at)
SELECT DISTINCT ON (t.id, s.subject_type, s.subject_id)
       t.id, s.subject_type, s.subject_id, s.tagged_by, coalesce(s.tagged_at, now())
FROM pg_temp.import_tags AS s
JOIN userdata.tags AS t ON t.name = s.tag
ORDER BY t.id, s.subject_type, s.subject_id, s.record_no
ON CONFLICT DO NOTHING;

-- name: export_notes_csv
-- Every note (optionally of one subject type) as CSV with a header, oldest first.
COPY (
    SELECT n.id, n.subject_type, n.subject_id, n.body, n.author,
           to_json(n.created_at) #>> '{}' AS created_at,  -- ISO 8601, as imports read it
           to_json(n.updated_at) #>> '{}' AS updated_at
    FROM userdata.notes AS n
    WHERE :'subject_type'::text IS NULL OR n.subject_type = :'subject_type'::text
    ORDER BY n.id
) TO STDOUT WITH (FORMAT csv, HEADER true);

-- name: export_notes_json
-- Every note (optionally of one subject type) as one JSON object a row, oldest first.
COPY (
    SELECT json_build_object('id', n.id, 'subject_type', n.subject_type,
                             'subject_id', n.subject_id, 'body', n.body, 'author', n.author,
                             'created_at', n.created_at, 'updated_at', n.updated_at)
    FROM userdata.notes AS n
    WHERE :'subject_type'::text IS NULL OR n.subject_type = :'subject_type'::text
    ORDER BY n.id
) TO STDOUT;

-- name: export_tags_csv
-- Every tag link as CSV with a header, by tag name.
COPY (
    SELECT t.name AS tag, l.subject_type, l.subject_id, l.tagged_by,
           to_json(l.tagged_at) #>> '{}' AS tagged_at  -- ISO 8601, as imports read it
    FROM userdata.tag_links AS l
    JOIN userdata.tags AS t ON t.id = l.tag_id
    WHERE :'subject_type'::text IS NULL OR l.subject_type = :'subject_type'::text
    ORDER BY t.name, l.subject_type, l.subject_id
) TO STDOUT WITH (FORMAT csv, HEADER true);

-- name: export_tags_json
-- Every tag link as one JSON object a row, by tag name.
COPY (
    SELECT json_build_object('tag', t.name, 'subject_type', l.subject_type,
                             'subject_id', l.subject_id, 'tagged_by', l.tagged_by,
                             'tagged_at', l.tagged_at)
    FROM userdata.tag_links AS l
    JOIN userdata.tags AS t ON t.id = l.tag_id
    WHERE :'subject_type'::text IS NULL OR l.subject_type = :'subject_type'::text
    ORDER BY t.name, l.subject_type, l.subject_id
) TO STDOUT;
