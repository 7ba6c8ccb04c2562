-- Tags: names (normalized by tracker.tags before they get here), synonyms, links to
-- students, courses and assignments, merging, suggestions and usage.
--
-- Concurrency: whoever creates tags or links takes the tag catalog's advisory lock in
-- shared mode; merging takes it exclusively. So a merge never interleaves with a
-- tagging: taggings that began before it finish first (the merge then moves their
-- links), and those that begin during it wait and then see the merged tag's synonym.

-- name: share_tag_catalog
-- Take the tag catalog's lock in shared mode until the transaction ends (tagging).
SELECT pg_advisory_xact_lock_shared(hashtextextended('tracker.userdata.tags', 0));

-- name: lock_tag_catalog
-- Take the tag catalog's lock exclusively until the transaction ends (merging, synonyms).
SELECT pg_advisory_xact_lock(hashtextextended('tracker.userdata.tags', 0));

-- name: canonical_name
-- The name a (normalized) tag name stands for: its synonym's canonical name, else itself.
SELECT coalesce((SELECT s.canonical FROM userdata.tag_synonyms AS s WHERE s.alias = :'name'::text),
                :'name'::text) AS name;

-- name: ensure_tag
-- The tag a (normalized) name stands for, created if need be: (id, name, created).
-- Returns nothing when another transaction created the same tag a moment ago: ask again.
WITH canonical AS (
    SELECT coalesce((SELECT s.canonical FROM userdata.tag_synonyms AS s WHERE s.alias = :'name'::text),
                    :'name'::text) AS name
),
created AS (
    INSERT INTO userdata.tags (name, created_by)
    SELECT c.name, :'actor'::text
    FROM canonical AS c
    ON CONFLICT (name) DO NOTHING
    RETURNING id, name
)
SELECT id, name, true AS created
FROM created
UNION ALL
SELECT t.id, t.name, false
FROM userdata.tags AS t
JOIN canonical AS c ON c.name = t.name;

-- name: find_tag
-- The tag a (normalized) name stands for (directly or through a synonym), if it exists.
SELECT t.id, t.name
FROM userdata.tags AS t
WHERE t.name = coalesce((SELECT s.canonical FROM userdata.tag_synonyms AS s WHERE s.alias = :'name'::text),
                        :'name'::text);

-- name: attach_tag
-- Link a tag to a subject; returns the link, or nothing if it was there already.
INSERT INTO userdata.tag_links (tag_id, subject_type, subject_id, tagged_by)
VALUES (:'tag_id'::bigint, :'subject_type'::text, :'subject_id'::bigint, :'actor'::text)
ON CONFLICT DO NOTHING
RETURNING tag_id;

-- name: detach_tags
-- Unlink tags (by id) from a subject; returns the links removed.
DELETE FROM userdata.tag_links
WHERE tag_id = ANY(:'tag_ids'::bigint[])
  AND subject_type = :'subject_type'::text
  AND subject_id = :'subject_id'::bigint
RETURNING tag_id;

-- name: tags_of
-- The tags of one subject, by name.
SELECT t.name AS tag, l.subject_type, l.subject_id, l.tagged_by, l.tagged_at
FROM userdata.tag_links AS l
JOIN userdata.tags AS t ON t.id = l.tag_id
WHERE l.subject_type = :'subject_type'::text
  AND l.subject_id = :'subject_id'::bigint
ORDER BY t.name;

-- name: tagged_with
-- The subjects one tag is linked to (optionally of one type), newest first.
SELECT t.name AS tag, l.subject_type, l.subject_id, l.tagged_by, l.tagged_at
FROM userdata.tag_links AS l
JOIN userdata.tags AS t ON t.id = l.tag_id
WHERE t.id = :'tag_id'::bigint
  AND (:'subject_type'::text IS NULL OR l.subject_type = :'subject_type'::text)
ORDER BY l.tagged_at DESC, l.subject_type, l.subject_id
LIMIT :'limit'::integer;

-- name: lock_tags
-- Lock the given tags (by id) until the transaction ends, in id order.
SELECT t.id, t.name
FROM userdata.tags AS t
WHERE t.id = ANY(:'tag_ids'::bigint[])
ORDER BY t.id
FOR UPDATE;

-- name: move_links
-- Merging: link the target tag to every subject the source tags are linked to, keeping
-- who tagged and when (the earliest, when several sources tagged one subject).
INSERT INTO userdata.tag_links (tag_id, subject_type, subject_id, tagged_by, tagged_at)
SELECT DISTINCT ON (l.subject_type, l.subject_id)
       :'target_id'::bigint, l.subject_type, l.subject_id, l.tagged_by, l.tagged_at
FROM userdata.tag_links AS l
WHERE l.tag_id = ANY(:'source_ids'::bigint[])
ORDER BY l.subject_type, l.subject_id, l.tagged_at
ON CONFLICT DO NOTHING;

-- name: drop_source_links
-- Merging: remove the source tags' links (moved to the target just before).
DELETE FROM userdata.tag_links
WHERE tag_id = ANY(:'source_ids'::bigint[]);

-- name: repoint_synonyms
-- Merging: synonyms of the source tags now stand for the target.
UPDATE userdata.tag_synonyms
SET canonical = :'target'::text
WHERE canonical = ANY(:'sources'::text[]);

-- name: put_synonym
-- Make alias stand for canonical (replacing what it stood for).
INSERT INTO userdata.tag_synonyms AS s (alias, canonical, created_by)
VALUES (:'alias'::text, :'canonical'::text, :'actor'::text)
ON CONFLICT (alias) DO UPDATE
SET canonical = excluded.canonical,
    created_by = excluded.created_by,
    created_at = now()
WHERE s.canonical IS DISTINCT FROM excluded.canonical;

-- name: delete_synonym
-- Remove a synonym; returns what it stood for.
DELETE FROM userdata.tag_synonyms
WHERE alias = :'alias'::text
RETURNING canonical;

-- name: list_synonyms
-- Every synonym, by canonical name.
SELECT alias, canonical, created_by, created_at
FROM userdata.tag_synonyms
ORDER BY canonical, alias;

-- name: drop_tags
-- Remove tags (by id) that no link refers to any more.
DELETE FROM userdata.tags
WHERE id = ANY(:'tag_ids'::bigint[]);

-- name: list_tags
-- Every tag with how many subjects of each type it is linked to, most used first.
SELECT t.id, t.name, t.created_by, t.created_at,
       count(l.tag_id) AS links,
       count(l.tag_id) FILTER (WHERE l.subject_type = 'user') AS users,
       count(l.tag_id) FILTER (WHERE l.subject_type = 'course') AS courses,
       count(l.tag_id) FILTER (WHERE l.subject_type = 'assignment') AS assignments,
       min(l.tagged_at) AS first_tagged,
       max(l.tagged_at) AS last_tagged
FROM userdata.tags AS t
LEFT JOIN userdata.tag_links AS l ON l.tag_id = t.id
GROUP BY t.id
ORDER BY links DESC, t.name;

-- name: suggest_tags
-- Tags a subject may want, from the tags that co-occur with its own on other subjects of
-- its type: each such subject votes for its tags with the share of its tags that the
-- subject has too (a Jaccard-like weight). A subject with no tags yet borrows its
-- neighbours in layer 1 instead: a student's classmates, a course's curriculum and term
-- mates, an assignment's course mates, each voting with weight 1/(their count).
WITH mine AS (
    SELECT l.tag_id
    FROM userdata.tag_links AS l
    WHERE l.subject_type = :'subject_type'::text
      AND l.subject_id = :'subject_id'::bigint
),
tag_counts AS (
    SELECT l.subject_id, count(*) AS n
    FROM userdata.tag_links AS l
    WHERE l.subject_type = :'subject_type'::text
    GROUP BY l.subject_id
),
alike AS (
    SELECT l.subject_id, count(*)::numeric / (tc.n + (SELECT count(*) FROM mine) - count(*)) AS weight
    FROM userdata.tag_links AS l
    JOIN mine AS m ON m.tag_id = l.tag_id
    JOIN tag_counts AS tc ON tc.subject_id = l.subject_id
    WHERE l.subject_type = :'subject_type'::text
      AND l.subject_id <> :'subject_id'::bigint
    GROUP BY l.subject_id, tc.n
),
neighbours AS (
    SELECT e2.user_id AS subject_id
    FROM canvas.enrollments AS e1
    JOIN canvas.enrollments AS e2 ON e2.course_id = e1.course_id AND e2.user_id <> e1.user_id
    WHERE :'subject_type'::text = 'user'
      AND e1.user_id = :'subject_id'::bigint
      AND e2.type = 'StudentEnrollment'
    UNION
    SELECT other.course_id
    FROM userdata.curriculum_courses AS cc
    JOIN userdata.curriculum_courses AS other ON other.curriculum_id = cc.curriculum_id
    WHERE :'subject_type'::text = 'course'
      AND cc.course_id = :'subject_id'::bigint
      AND other.course_id <> cc.course_id
    UNION
    SELECT other.id
    FROM canvas.courses AS c
    JOIN canvas.courses AS other ON other.enrollment_term_id = c.enrollment_term_id AND other.id <> c.id
    WHERE :'subject_type'::text = 'course'
      AND c.id = :'subject_id'::bigint
    UNION
    SELECT other.id
    FROM canvas.assignments AS a
    JOIN canvas.assignments AS other ON other.course_id = a.course_id AND other.id <> a.id
    WHERE :'subject_type'::text = 'assignment'
      AND a.id = :'subject_id'::bigint
),
voters AS (
    SELECT subject_id, weight
    FROM alike
    UNION ALL
    SELECT n.subject_id, 1.0 / count(*) OVER ()
    FROM neighbours AS n
    WHERE NOT EXISTS (SELECT 1 FROM mine)
)
SELECT t.name AS tag, round(sum(v.weight), 4) AS score, count(*) AS support
FROM voters AS v
JOIN userdata.tag_links AS l ON l.subject_type = :'subject_type'::text AND l.subject_id = v.subject_id
JOIN userdata.tags AS t ON t.id = l.tag_id
WHERE l.tag_id NOT IN (SELECT tag_id FROM mine)
GROUP BY t.name
ORDER BY score DESC, support DESC, t.name
LIMIT :'limit'::integer;

-- name: usage_over_time
-- How each tag's use changed over time, from the audit log of tag links: per period
-- (day, week, month or year), the links added and removed and the total at its end.
-- A merge shows as links removed from the merged tags and added to the target.
-- A tag removed since is named as it was when created.
WITH changes AS (
    SELECT a.changed_at, (a.new_row ->> 'tag_id')::bigint AS tag_id, 1 AS added, 0 AS removed
    FROM userdata.audit_log AS a
    WHERE a.relation = 'userdata.tag_links'
      AND a.action IN ('INSERT', 'UPDATE')
    UNION ALL
    SELECT a.changed_at, (a.old_row ->> 'tag_id')::bigint, 0, 1
    FROM userdata.audit_log AS a
    WHERE a.relation = 'userdata.tag_links'
      AND a.action IN ('DELETE', 'UPDATE')
),
per_period AS (
    SELECT c.tag_id, date_trunc(:'period'::text, c.changed_at) AS period_start,
           sum(c.added)::bigint AS added, sum(c.removed)::bigint AS removed
    FROM changes AS c
    GROUP BY c.tag_id, date_trunc(:'period'::text, c.changed_at)
),
totals AS (
    SELECT p.tag_id, p.period_start, p.added, p.removed,
           (sum(p.added - p.removed) OVER (PARTITION BY p.tag_id ORDER BY p.period_start))::bigint AS total
    FROM per_period AS p
),
names AS (
    SELECT DISTINCT ON ((a.new_row ->> 'id')::bigint)
           (a.new_row ->> 'id')::bigint AS tag_id, a.new_row ->> 'name' AS name
    FROM userdata.audit_log AS a
    WHERE a.relation = 'userdata.tags'
      AND a.action = 'INSERT'
    ORDER BY (a.new_row ->> 'id')::bigint, a.id
)
SELECT coalesce(t.name, n.name, '#' || tt.tag_id) AS tag, tt.period_start, tt.added, tt.removed, tt.total
FROM totals AS tt
LEFT JOIN userdata.tags AS t ON t.id = tt.tag_id
LEFT JOIN names AS n ON n.tag_id = tt.tag_id
WHERE (:'since'::timestamptz IS NULL OR tt.period_start >= date_trunc(:'period'::text, :'since'::timestamptz))
  AND (:'tags'::text[] IS NULL OR coalesce(t.name, n.name) = ANY(:'tags'::text[]))
ORDER BY tag, tt.period_start;
