-- Notes and custom fields about a student (user), a course or an assignment, and the
-- audit trail of every change to them. Who makes a change is said once per transaction
-- with set_actor; the audit trigger records it.

-- name: set_actor
-- Who is making this transaction's changes, for the audit log.
SELECT set_config('tracker.actor', :'actor'::text, true);

-- name: subject_exists
-- Whether layer 1 holds the subject (a user, course or assignment), and its name.
SELECT s.name
FROM (
    SELECT u.name FROM canvas.users AS u WHERE :'subject_type'::text = 'user' AND u.id = :'subject_id'::bigint
    UNION ALL
    SELECT c.name FROM canvas.courses AS c WHERE :'subject_type'::text = 'course' AND c.id = :'subject_id'::bigint
    UNION ALL
    SELECT a.name FROM canvas.assignments AS a WHERE :'subject_type'::text = 'assignment' AND a.id = :'subject_id'::bigint
) AS s;

-- name: add_note
-- Write a note about a subject; returns its id.
INSERT INTO userdata.notes (subject_type, subject_id, body, author)
VALUES (:'subject_type'::text, :'subject_id'::bigint, :'body'::text, :'author'::text)
RETURNING id;

-- name: get_notes
-- Notes by id, with who changed each last (from the audit log).
SELECT n.id, n.subject_type, n.subject_id, n.body, n.author, n.created_at, n.updated_at,
       coalesce(last_change.changed_by, n.author) AS updated_by
FROM userdata.notes AS n
LEFT JOIN LATERAL (
    SELECT a.changed_by
    FROM userdata.audit_log AS a
    WHERE a.relation = 'userdata.notes'
      AND coalesce(a.new_row, a.old_row) ->> 'id' = n.id::text
    ORDER BY a.id DESC
    LIMIT 1
) AS last_change ON true
WHERE n.id = ANY(:'ids'::bigint[])
ORDER BY n.id;

-- name: update_note
-- Rewrite a note's body (only when it changes); returns its id, or nothing if there is no such note.
UPDATE userdata.notes
SET body = :'body'::text,
    updated_at = now()
WHERE id = :'id'::bigint
  AND body IS DISTINCT FROM :'body'::text
RETURNING id;

-- name: delete_note
-- Delete a note (the audit log keeps it); returns it as it was.
DELETE FROM userdata.notes
WHERE id = :'id'::bigint
RETURNING id, subject_type, subject_id, body, author, created_at, updated_at, :'actor'::text AS updated_by;

-- name: list_notes
-- Notes, newest first, optionally about one subject type or subject, by one author, or
-- containing a text (case-insensitive); before_id pages through (keyset).
SELECT n.id
FROM userdata.notes AS n
WHERE (:'subject_type'::text IS NULL OR n.subject_type = :'subject_type'::text)
  AND (:'subject_id'::bigint IS NULL OR n.subject_id = :'subject_id'::bigint)
  AND (:'author'::text IS NULL OR n.author = :'author'::text)
  AND (:'contains'::text IS NULL OR strpos(lower(n.body), lower(:'contains'::text)) > 0)
  AND (:'before_id'::bigint IS NULL OR n.id < :'before_id'::bigint)
ORDER BY n.id DESC
LIMIT :'limit'::integer;

-- name: row_trail
-- The audit trail of one row of one relation (by its id), oldest first.
SELECT a.id, a.relation, a.action, a.changed_by, a.changed_at, a.old_row, a.new_row
FROM userdata.audit_log AS a
WHERE a.relation = :'relation'::text
  AND coalesce(a.new_row, a.old_row) ->> 'id' = :'id'::bigint::text
ORDER BY a.id;

-- name: subject_trail
-- The latest changes to what people wrote about one subject (notes, custom fields, tag
-- links), newest first.
SELECT a.id, a.relation, a.action, a.changed_by, a.changed_at, a.old_row, a.new_row
FROM userdata.audit_log AS a
WHERE coalesce(a.new_row, a.old_row) ->> 'subject_type' = :'subject_type'::text
  AND coalesce(a.new_row, a.old_row) ->> 'subject_id' = :'subject_id'::bigint::text
ORDER BY a.id DESC
LIMIT :'limit'::integer;

-- name: set_field
-- Set a custom field of a subject (insert, or overwrite its value when it changes).
INSERT INTO userdata.custom_fields AS f (subject_type, subject_id, name, value, author)
VALUES (:'subject_type'::text, :'subject_id'::bigint, :'name'::text, :'value'::jsonb, :'author'::text)
ON CONFLICT (subject_type, subject_id, name) DO UPDATE
SET value = excluded.value,
    author = excluded.author,
    updated_at = now()
WHERE f.value IS DISTINCT FROM excluded.value;

-- name: get_fields
-- The custom fields of one subject (or only the one named), by name.
SELECT f.subject_type, f.subject_id, f.name, f.value, f.author, f.updated_at
FROM userdata.custom_fields AS f
WHERE f.subject_type = :'subject_type'::text
  AND f.subject_id = :'subject_id'::bigint
  AND (:'name'::text IS NULL OR f.name = :'name'::text)
ORDER BY f.name;

-- name: delete_field
-- Delete a custom field (the audit log keeps it); returns it as it was.
DELETE FROM userdata.custom_fields
WHERE subject_type = :'subject_type'::text
  AND subject_id = :'subject_id'::bigint
  AND name = :'name'::text
RETURNING subject_type, subject_id, name, value, author, updated_at;

-- name: list_fields
-- Custom fields of every subject, optionally of one name and one subject type.
SELECT f.subject_type, f.subject_id, f.name, f.value, f.author, f.updated_at
FROM userdata.custom_fields AS f
WHERE (:'name'::text IS NULL OR f.name = :'name'::text)
  AND (:'subject_type'::text IS NULL OR f.subject_type = :'subject_type'::text)
ORDER BY f.name, f.subject_type, f.subject_id
LIMIT :'limit'::integer;
