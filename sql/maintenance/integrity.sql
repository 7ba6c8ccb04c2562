-- Cross-layer integrity checks. Each statement answers one question with one row:
-- the check's name, what it looks for, how many rows are at fault, a few examples,
-- the suggested repair, and whether `tracker check --fix` applies that repair on its
-- own (fixable; the safe repairs are in repair.sql). Nothing here writes.
--
--   psql -X -v ON_ERROR_STOP=1 -v examples=5 -f sql/maintenance/integrity.sql
--
-- "In the archive" means archived by a cleanup, retention or repair not restored since.

-- name: check_orphan_history
-- History rows about an enrollment, submission, course or user found neither in layer 1
-- nor in the archive.
WITH archived AS (
    SELECT a.relation, a.row_id
    FROM archive.rows AS a
    JOIN archive.runs AS r ON r.run_id = a.run_id
    WHERE r.restored_at IS NULL
      AND a.relation LIKE 'canvas.%'
),
orphans AS (
    SELECT 'history.enrollment_grades' AS relation, h.id,
           format('history.enrollment_grades %s: enrollment %s', h.id, h.enrollment_id) AS example
    FROM history.enrollment_grades AS h
    WHERE NOT EXISTS (SELECT 1 FROM canvas.enrollments AS e WHERE e.id = h.enrollment_id)
      AND NOT EXISTS (SELECT 1 FROM archived AS a
                      WHERE a.relation = 'canvas.enrollments' AND a.row_id = h.enrollment_id::text)
    UNION ALL
    SELECT 'history.submission_scores', h.id,
           format('history.submission_scores %s: submission %s', h.id, h.submission_id)
    FROM history.submission_scores AS h
    WHERE NOT EXISTS (SELECT 1 FROM canvas.submissions AS s WHERE s.id = h.submission_id)
      AND NOT EXISTS (SELECT 1 FROM archived AS a
                      WHERE a.relation = 'canvas.submissions' AND a.row_id = h.submission_id::text)
    UNION ALL
    SELECT 'history.course_snapshots', h.id,
           format('history.course_snapshots %s: course %s', h.id, h.course_id)
    FROM history.course_snapshots AS h
    WHERE NOT EXISTS (SELECT 1 FROM canvas.courses AS c WHERE c.id = h.course_id)
      AND NOT EXISTS (SELECT 1 FROM archived AS a
                      WHERE a.relation = 'canvas.courses' AND a.row_id = h.course_id::text)
    UNION ALL
    SELECT 'history.risk_assessments', h.id,
           format('history.risk_assessments %s: user %s, course %s', h.id, h.user_id,
                  coalesce(h.course_id::text, 'none'))
    FROM history.risk_assessments AS h
    WHERE (NOT EXISTS (SELECT 1 FROM canvas.users AS u WHERE u.id = h.user_id)
           AND NOT EXISTS (SELECT 1 FROM archived AS a
                           WHERE a.relation = 'canvas.users' AND a.row_id = h.user_id::text))
       OR (h.course_id IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM canvas.courses AS c WHERE c.id = h.course_id)
           AND NOT EXISTS (SELECT 1 FROM archived AS a
                           WHERE a.relation = 'canvas.courses' AND a.row_id = h.course_id::text))
)
SELECT 'orphan_history' AS check_name,
       'history rows about objects found neither in layer 1 nor in the archive' AS title,
       count(*) AS found,
       coalesce((array_agg(o.example ORDER BY o.relation, o.id))[1:(:'examples'::integer)], '{}') AS examples,
       'archive them: each row is copied whole into the archive, then removed from history' AS repair,
       true AS fixable
FROM orphans AS o;

-- name: check_orphan_userdata
-- Notes, custom fields, tag links and curriculum memberships about an object found
-- neither in layer 1 nor in the archive.
WITH archived AS (
    SELECT a.relation, a.row_id
    FROM archive.rows AS a
    JOIN archive.runs AS r ON r.run_id = a.run_id
    WHERE r.restored_at IS NULL
      AND a.relation IN ('canvas.users', 'canvas.courses', 'canvas.assignments')
),
subjects AS (
    SELECT 'userdata.notes' AS relation, n.id::text AS row_id, n.subject_type, n.subject_id
    FROM userdata.notes AS n
    UNION ALL
    SELECT 'userdata.custom_fields', jsonb_build_array(f.subject_type, f.subject_id, f.name)::text,
           f.subject_type, f.subject_id
    FROM userdata.custom_fields AS f
    UNION ALL
    SELECT 'userdata.tag_links', jsonb_build_array(l.tag_id, l.subject_type, l.subject_id)::text,
           l.subject_type, l.subject_id
    FROM userdata.tag_links AS l
    UNION ALL
    SELECT 'userdata.curriculum_courses', jsonb_build_array(cc.curriculum_id, cc.course_id)::text,
           'course', cc.course_id
    FROM userdata.curriculum_courses AS cc
),
orphans AS (
    SELECT s.relation, s.row_id,
           format('%s %s: %s %s', s.relation, s.row_id, s.subject_type, s.subject_id) AS example
    FROM subjects AS s
    WHERE NOT EXISTS (SELECT 1 FROM canvas.users AS u WHERE s.subject_type = 'user' AND u.id = s.subject_id)
      AND NOT EXISTS (SELECT 1 FROM canvas.courses AS c WHERE s.subject_type = 'course' AND c.id = s.subject_id)
      AND NOT EXISTS (SELECT 1 FROM canvas.assignments AS a
                      WHERE s.subject_type = 'assignment' AND a.id = s.subject_id)
      AND NOT EXISTS (SELECT 1 FROM archived AS a
                      WHERE a.relation = 'canvas.' || s.subject_type || 's'
                        AND a.row_id = s.subject_id::text)
)
SELECT 'orphan_userdata' AS check_name,
       'user data about objects found neither in layer 1 nor in the archive' AS title,
       count(*) AS found,
       coalesce((array_agg(o.example ORDER BY o.relation, o.row_id))[1:(:'examples'::integer)], '{}') AS examples,
       'archive them: each row is copied whole into the archive (nothing a person wrote is lost), then removed' AS repair,
       true AS fixable
FROM orphans AS o;

-- name: check_lifecycle_without_object
-- Lifecycle rows that say an object exists (active, missing or approved) whose Canvas
-- row is gone.
WITH objects AS (
    SELECT o.kind, o.id, o.status, o.course_id
    FROM lifecycle.objects AS o
    WHERE o.status <> 'deleted'
      AND NOT EXISTS (SELECT 1 FROM canvas.terms AS t WHERE o.kind = 'term' AND t.id = o.id)
      AND NOT EXISTS (SELECT 1 FROM canvas.courses AS t WHERE o.kind = 'course' AND t.id = o.id)
      AND NOT EXISTS (SELECT 1 FROM canvas.sections AS t WHERE o.kind = 'section' AND t.id = o.id)
      AND NOT EXISTS (SELECT 1 FROM canvas.users AS t WHERE o.kind = 'user' AND t.id = o.id)
      AND NOT EXISTS (SELECT 1 FROM canvas.assignment_groups AS t
                      WHERE o.kind = 'assignment_group' AND t.id = o.id)
      AND NOT EXISTS (SELECT 1 FROM canvas.assignments AS t WHERE o.kind = 'assignment' AND t.id = o.id)
      AND NOT EXISTS (SELECT 1 FROM canvas.enrollments AS t WHERE o.kind = 'enrollment' AND t.id = o.id)
)
SELECT 'lifecycle_without_object' AS check_name,
       'lifecycle rows of objects that are not deleted but have no row in layer 1' AS title,
       count(*) AS found,
       coalesce((array_agg(format('%s %s (%s, course %s)', o.kind, o.id, o.status,
                                  coalesce(o.course_id::text, 'none'))
                           ORDER BY o.kind, o.id))[1:(:'examples'::integer)], '{}') AS examples,
       'run a full sync of the course (tracker sync --course ID): an object Canvas still has comes '
       'back; one it lost is marked missing, then approve and clean it up (tracker lifecycle)' AS repair,
       false AS fixable
FROM objects AS o;

-- name: check_object_without_lifecycle
-- Canvas objects (all kinds but submissions) that layer 0 does not track.
WITH objects AS (
    SELECT 'term' AS kind, t.id, t.sync_id FROM canvas.terms AS t
    UNION ALL SELECT 'course', t.id, t.sync_id FROM canvas.courses AS t
    UNION ALL SELECT 'section', t.id, t.sync_id FROM canvas.sections AS t
    UNION ALL SELECT 'user', t.id, t.sync_id FROM canvas.users AS t
    UNION ALL SELECT 'assignment_group', t.id, t.sync_id FROM canvas.assignment_groups AS t
    UNION ALL SELECT 'assignment', t.id, t.sync_id FROM canvas.assignments AS t
    UNION ALL SELECT 'enrollment', t.id, t.sync_id FROM canvas.enrollments AS t
),
untracked AS (
    SELECT c.kind, c.id, c.sync_id
    FROM objects AS c
    WHERE NOT EXISTS (SELECT 1 FROM lifecycle.objects AS o WHERE o.kind = c.kind AND o.id = c.id)
)
SELECT 'object_without_lifecycle' AS check_name,
       'objects in layer 1 that layer 0 does not track' AS title,
       count(*) AS found,
       coalesce((array_agg(format('%s %s (written by sync %s)', u.kind, u.id, u.sync_id)
                           ORDER BY u.kind, u.id))[1:(:'examples'::integer)], '{}') AS examples,
       'add their lifecycle rows, active, first seen by the sync that wrote them' AS repair,
       true AS fixable
FROM untracked AS u;

-- name: check_deleted_object_present
-- Lifecycle rows that say deleted while the object is in layer 1 again.
WITH present AS (
    SELECT o.kind, o.id
    FROM lifecycle.objects AS o
    WHERE o.status = 'deleted'
      AND (EXISTS (SELECT 1 FROM canvas.terms AS t WHERE o.kind = 'term' AND t.id = o.id)
        OR EXISTS (SELECT 1 FROM canvas.courses AS t WHERE o.kind = 'course' AND t.id = o.id)
        OR EXISTS (SELECT 1 FROM canvas.sections AS t WHERE o.kind = 'section' AND t.id = o.id)
        OR EXISTS (SELECT 1 FROM canvas.users AS t WHERE o.kind = 'user' AND t.id = o.id)
        OR EXISTS (SELECT 1 FROM canvas.assignment_groups AS t
                   WHERE o.kind = 'assignment_group' AND t.id = o.id)
        OR EXISTS (SELECT 1 FROM canvas.assignments AS t WHERE o.kind = 'assignment' AND t.id = o.id)
        OR EXISTS (SELECT 1 FROM canvas.enrollments AS t WHERE o.kind = 'enrollment' AND t.id = o.id))
)
SELECT 'deleted_object_present' AS check_name,
       'objects marked deleted in layer 0 that are in layer 1' AS title,
       count(*) AS found,
       coalesce((array_agg(format('%s %s', p.kind, p.id) ORDER BY p.kind, p.id))[1:(:'examples'::integer)],
                '{}') AS examples,
       'mark them missing (approval cleared): the next full sync reactivates those Canvas has' AS repair,
       true AS fixable
FROM present AS p;

-- name: check_lifecycle_scope
-- Lifecycle rows whose course disagrees with the object's course in layer 1.
WITH actual AS (
    SELECT 'course' AS kind, c.id, c.id AS course_id FROM canvas.courses AS c
    UNION ALL SELECT 'section', s.id, s.course_id FROM canvas.sections AS s
    UNION ALL SELECT 'assignment_group', g.id, g.course_id FROM canvas.assignment_groups AS g
    UNION ALL SELECT 'assignment', a.id, a.course_id FROM canvas.assignments AS a
    UNION ALL SELECT 'enrollment', e.id, e.course_id FROM canvas.enrollments AS e
),
wrong AS (
    SELECT o.kind, o.id, o.course_id AS recorded, a.course_id AS actual
    FROM lifecycle.objects AS o
    JOIN actual AS a ON a.kind = o.kind AND a.id = o.id
    WHERE o.course_id IS DISTINCT FROM a.course_id
)
SELECT 'lifecycle_scope' AS check_name,
       'lifecycle rows whose course differs from the object''s course in layer 1' AS title,
       count(*) AS found,
       coalesce((array_agg(format('%s %s: course %s in layer 0, %s in layer 1', w.kind, w.id,
                                  coalesce(w.recorded::text, 'none'), w.actual)
                           ORDER BY w.kind, w.id))[1:(:'examples'::integer)], '{}') AS examples,
       'set the lifecycle rows'' course from layer 1 (which sync scope marks them missing follows)' AS repair,
       true AS fixable
FROM wrong AS w;

-- name: check_dangling_enrollments
-- Enrollments whose user, course or section is not in layer 1.
WITH dangling AS (
    SELECT e.id,
           concat_ws(', ',
               CASE WHEN NOT EXISTS (SELECT 1 FROM canvas.users AS u WHERE u.id = e.user_id)
                    THEN format('user %s missing', e.user_id) END,
               CASE WHEN NOT EXISTS (SELECT 1 FROM canvas.courses AS c WHERE c.id = e.course_id)
                    THEN format('course %s missing', e.course_id) END,
               CASE WHEN e.course_section_id IS NOT NULL
                     AND NOT EXISTS (SELECT 1 FROM canvas.sections AS s WHERE s.id = e.course_section_id)
                    THEN format('section %s missing', e.course_section_id) END) AS problem
    FROM canvas.enrollments AS e
)
SELECT 'dangling_enrollments' AS check_name,
       'enrollments pointing at users, courses or sections not in layer 1' AS title,
       count(*) AS found,
       coalesce((array_agg(format('enrollment %s: %s', d.id, d.problem) ORDER BY d.id))[1:(:'examples'::integer)],
                '{}') AS examples,
       'run a full sync of the course: it brings back what Canvas still has; what is gone '
       'can then be approved and cleaned up with the enrollment' AS repair,
       false AS fixable
FROM dangling AS d
WHERE d.problem <> '';

-- name: check_dangling_submissions
-- Submissions whose user, assignment or course is not in layer 1.
WITH dangling AS (
    SELECT s.id,
           concat_ws(', ',
               CASE WHEN s.user_id IS NOT NULL
                     AND NOT EXISTS (SELECT 1 FROM canvas.users AS u WHERE u.id = s.user_id)
                    THEN format('user %s missing', s.user_id) END,
               CASE WHEN NOT EXISTS (SELECT 1 FROM canvas.assignments AS a WHERE a.id = s.assignment_id)
                    THEN format('assignment %s missing', s.assignment_id) END,
               CASE WHEN NOT EXISTS (SELECT 1 FROM canvas.courses AS c WHERE c.id = s.course_id)
                    THEN format('course %s missing', s.course_id) END) AS problem
    FROM canvas.submissions AS s
)
SELECT 'dangling_submissions' AS check_name,
       'submissions pointing at users, assignments or courses not in layer 1' AS title,
       count(*) AS found,
       coalesce((array_agg(format('submission %s: %s', d.id, d.problem) ORDER BY d.id))[1:(:'examples'::integer)],
                '{}') AS examples,
       'run a full sync of the course: it brings back what Canvas still has; what is gone '
       'can then be approved and cleaned up' AS repair,
       false AS fixable
FROM dangling AS d
WHERE d.problem <> '';

-- name: check_submission_course
-- Submissions whose course (denormalized) differs from their assignment's course.
SELECT 'submission_course' AS check_name,
       'submissions whose course differs from their assignment''s course' AS title,
       count(*) AS found,
       coalesce((array_agg(format('submission %s: course %s, its assignment %s is in course %s',
                                  s.id, s.course_id, a.id, a.course_id)
                           ORDER BY s.id))[1:(:'examples'::integer)], '{}') AS examples,
       'set the submissions'' course from their assignment (as a sync would)' AS repair,
       true AS fixable
FROM canvas.submissions AS s
JOIN canvas.assignments AS a ON a.id = s.assignment_id
WHERE s.course_id <> a.course_id;

-- name: check_history_order
-- History that goes backwards in time: in one series (an enrollment's grades, a
-- submission's scores, a course's snapshots, a student's risk in a course), a row
-- appended later but recorded earlier than the one before it; or a row recorded in the
-- future.
WITH ordered AS (
    SELECT 'history.enrollment_grades' AS relation, h.id, h.recorded_at,
           lag(h.recorded_at) OVER (PARTITION BY h.enrollment_id ORDER BY h.id) AS previous
    FROM history.enrollment_grades AS h
    UNION ALL
    SELECT 'history.submission_scores', h.id, h.recorded_at,
           lag(h.recorded_at) OVER (PARTITION BY h.submission_id ORDER BY h.id)
    FROM history.submission_scores AS h
    UNION ALL
    SELECT 'history.course_snapshots', h.id, h.recorded_at,
           lag(h.recorded_at) OVER (PARTITION BY h.course_id ORDER BY h.id)
    FROM history.course_snapshots AS h
    UNION ALL
    SELECT 'history.risk_assessments', h.id, h.assessed_at,
           lag(h.assessed_at) OVER (PARTITION BY h.user_id, h.course_id ORDER BY h.id)
    FROM history.risk_assessments AS h
),
backwards AS (
    SELECT o.relation, o.id,
           CASE WHEN o.recorded_at > now() + interval '5 minutes'
                THEN format('%s %s: recorded in the future (%s)', o.relation, o.id, o.recorded_at)
                ELSE format('%s %s: recorded %s, before the row before it (%s)', o.relation, o.id,
                            o.recorded_at, o.previous)
           END AS example
    FROM ordered AS o
    WHERE o.recorded_at < o.previous
       OR o.recorded_at > now() + interval '5 minutes'
)
SELECT 'history_order' AS check_name,
       'history that goes backwards in time (or lies in the future)' AS title,
       count(*) AS found,
       coalesce((array_agg(b.example ORDER BY b.relation, b.id))[1:(:'examples'::integer)], '{}') AS examples,
       'history is append-only: check the clock of the machine that synced, then archive the '
       'wrong rows with retention or leave them (analytics order by time)' AS repair,
       false AS fixable
FROM backwards AS b;
