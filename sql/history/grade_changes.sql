-- The Grade Change Log in layer 2 (history.grade_changes, migration 0016): the events
-- of a bundle's grade_changes file, as Canvas's GET /audit/grade_change/courses/:id lists
-- them, typed from pg_temp.raw_grade_changes (sql/canvas/stage.sql copies them there),
-- checked, and appended once each, by their Canvas event id: an event a fetch with an
-- overlapping window brings again, or that one file holds twice (Canvas pages newest
-- first, so an event can slide onto the next page), is stored once, by the first sync
-- that saw it. Nothing is compared, updated or marked missing.

-- name: grade_change_course_ids
-- The courses the bundle's grade changes speak of (beside sql/canvas/stage.sql's
-- scope_course_ids).
SELECT DISTINCT tracker.canvas_id(doc -> 'links' -> 'course') AS course_id
FROM pg_temp.raw_grade_changes
WHERE tracker.canvas_id(doc -> 'links' -> 'course') IS NOT NULL;

-- name: stage_grade_changes
-- Type the bundle's grade changes. An event id must be a non-blank string (or number);
-- links.assignment "override" (a final-grade override) becomes no assignment and the
-- override flag. A value of the wrong type fails its cast here, as in the kinds' stages.
INSERT INTO pg_temp.stage_grade_changes (record_no, rec)
SELECT
    r.record_no,
    ROW(
        NULL,  -- id: given when the row is appended
        CASE
            WHEN jsonb_typeof(r.doc -> 'id') IN ('string', 'number') AND btrim(r.doc ->> 'id') <> ''
                THEN r.doc ->> 'id'
            ELSE ('not a Canvas event id: ' || (r.doc -> 'id')::text)::bigint::text
        END,
        tracker.canvas_id(l.links -> 'course'),
        CASE WHEN NOT l.is_override THEN tracker.canvas_id(l.links -> 'assignment') END,
        l.is_override,
        tracker.canvas_id(l.links -> 'student'),
        tracker.canvas_id(l.links -> 'grader'),
        :'sync_id'::bigint,
        tracker.canvas_time(r.doc ->> 'created_at'),
        r.doc ->> 'event_type',
        r.doc ->> 'grade_before',
        r.doc ->> 'grade_after',
        tracker.canvas_bool(r.doc -> 'excused_before'),
        tracker.canvas_bool(r.doc -> 'excused_after'),
        tracker.canvas_bool(r.doc -> 'graded_anonymously'),
        (r.doc ->> 'version_number')::integer,
        r.doc
    )::history.grade_changes
FROM pg_temp.raw_grade_changes AS r
CROSS JOIN LATERAL (
    SELECT
        r.doc -> 'links' AS links,
        coalesce(r.doc -> 'links' ->> 'assignment' = 'override', false) AS is_override
) AS l;

-- name: grade_changes_without_course
-- Staged grade changes whose course is missing, or neither in the bundle nor stored.
SELECT s.record_no, (s.rec).event_id, (s.rec).course_id
FROM pg_temp.stage_grade_changes AS s
WHERE (s.rec).course_id IS NULL
   OR (NOT EXISTS (SELECT 1 FROM pg_temp.stage_courses AS p WHERE p.id = (s.rec).course_id)
       AND NOT EXISTS (SELECT 1 FROM canvas.courses AS c WHERE c.id = (s.rec).course_id))
ORDER BY s.record_no
LIMIT :'limit'::integer;

-- name: staged_grade_change_events
-- How many distinct events the bundle holds (stored already or not).
SELECT count(DISTINCT (s.rec).event_id)
FROM pg_temp.stage_grade_changes AS s;

-- name: append_grade_changes
-- Append the events not stored yet, in the order Canvas recorded them; the first record
-- of an event the file holds twice.
INSERT INTO history.grade_changes (
    event_id, course_id, assignment_id, is_override, student_id, grader_id, sync_id,
    created_at, event_type, grade_before, grade_after, excused_before, excused_after,
    graded_anonymously, version_number, raw
)
SELECT
    e.event_id, e.course_id, e.assignment_id, e.is_override, e.student_id, e.grader_id, e.sync_id,
    e.created_at, e.event_type, e.grade_before, e.grade_after, e.excused_before, e.excused_after,
    e.graded_anonymously, e.version_number, e.raw
FROM (
    SELECT DISTINCT ON ((s.rec).event_id) (s.rec).*
    FROM pg_temp.stage_grade_changes AS s
    ORDER BY (s.rec).event_id, s.record_no
) AS e
ORDER BY e.created_at, e.event_id
ON CONFLICT (event_id) DO NOTHING;
