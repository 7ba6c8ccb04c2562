-- Score history: every score, grade and state each submission has had, as the syncs saw it.
--
-- Run:   psql -X -v ON_ERROR_STOP=1 -v user_id=7 -v course_id= -v assignment_id= -f sql/reports/score_history.sql
-- Takes: -v user_id=ID        one student; empty (user_id=) for every student
--        -v course_id=ID      one course; empty (course_id=) for every course
--        -v assignment_id=ID  one assignment; empty (assignment_id=) for every assignment
-- All three variables must be given (psql leaves an unset :'name' in the text); an
-- empty value means "no filter".
--
-- From layer 2 (history.submission_scores): a sync appends a row for a submission it
-- sees for the first time and whenever its score, grade, workflow state, excused, late
-- or missing flag changed, so each row is one step of the submission's story, with the
-- sync that saw it (sync_id) and when that sync landed (synced_at). changes says, in
-- words, what moved since the step before ("score 7 → 8", "state submitted → graded",
-- "excused", "no longer late", …; "first seen" at the first step); previous_score is
-- the score of the step before. Left out: the test student, enrollments that are not
-- active, enrollments and assignments marked missing in layer 0.
--
-- The view reports.score_history (migration 0018_reports_views) is this SELECT without
-- the filters and the order; a test keeps the two in step.

-- name: score_history
-- Each recorded step of each submission, by student, course, assignment and time.
SELECT
    h.user_id,
    u.name AS student,
    u.sis_user_id,
    h.course_id,
    c.name AS course,
    h.assignment_id,
    a.name AS assignment,
    h.submission_id,
    h.recorded_at,
    h.sync_id,
    r.finished_at AS synced_at,
    h.score,
    h.previous_score,
    h.grade,
    h.workflow_state,
    h.excused,
    h.late,
    h.missing,
    array_remove(ARRAY[
        CASE WHEN h.previous_id IS NULL THEN 'first seen' END,
        CASE WHEN h.previous_id IS NOT NULL AND h.score IS DISTINCT FROM h.previous_score
            THEN 'score ' || coalesce(trim_scale(h.previous_score)::text, '–')
                 || ' → ' || coalesce(trim_scale(h.score)::text, '–') END,
        CASE WHEN h.previous_id IS NOT NULL AND h.grade IS DISTINCT FROM h.previous_grade
            THEN 'grade ' || coalesce(h.previous_grade, '–') || ' → ' || coalesce(h.grade, '–') END,
        CASE WHEN h.previous_id IS NOT NULL AND h.workflow_state IS DISTINCT FROM h.previous_state
            THEN 'state ' || h.previous_state || ' → ' || h.workflow_state END,
        CASE WHEN h.previous_id IS NOT NULL AND h.excused IS DISTINCT FROM h.previous_excused
            THEN CASE WHEN h.excused THEN 'excused' ELSE 'no longer excused' END END,
        CASE WHEN h.previous_id IS NOT NULL AND h.late IS DISTINCT FROM h.previous_late
            THEN CASE WHEN h.late THEN 'late' ELSE 'no longer late' END END,
        CASE WHEN h.previous_id IS NOT NULL AND h.missing IS DISTINCT FROM h.previous_missing
            THEN CASE WHEN h.missing THEN 'missing' ELSE 'no longer missing' END END
    ], NULL) AS changes,
    h.id AS history_id
FROM (
    -- Each step beside the one before it. The window's partition names the columns a
    -- filter may test (all fixed per submission), so a condition on them reaches the
    -- scan beneath, also when the view is queried.
    SELECT
        ss.*,
        lag(ss.id) OVER w AS previous_id,
        lag(ss.score) OVER w AS previous_score,
        lag(ss.grade) OVER w AS previous_grade,
        lag(ss.workflow_state) OVER w AS previous_state,
        lag(ss.excused) OVER w AS previous_excused,
        lag(ss.late) OVER w AS previous_late,
        lag(ss.missing) OVER w AS previous_missing
    FROM history.submission_scores AS ss
    WHERE (NULLIF(:'user_id'::text, '') IS NULL OR ss.user_id = NULLIF(:'user_id'::text, '')::bigint)
      AND (NULLIF(:'course_id'::text, '') IS NULL OR ss.course_id = NULLIF(:'course_id'::text, '')::bigint)
      AND (NULLIF(:'assignment_id'::text, '') IS NULL
           OR ss.assignment_id = NULLIF(:'assignment_id'::text, '')::bigint)
    WINDOW w AS (
        PARTITION BY ss.submission_id, ss.user_id, ss.course_id, ss.assignment_id
        ORDER BY ss.recorded_at, ss.id
    )
) AS h
JOIN canvas.users AS u ON u.id = h.user_id
JOIN canvas.courses AS c ON c.id = h.course_id
JOIN canvas.assignments AS a ON a.id = h.assignment_id
JOIN tracker.sync_runs AS r ON r.sync_id = h.sync_id
WHERE EXISTS (
      SELECT 1
      FROM canvas.active_students AS e
      WHERE e.user_id = h.user_id
        AND e.course_id = h.course_id
  )
  AND NOT EXISTS (
      SELECT 1
      FROM lifecycle.objects AS o
      WHERE o.kind = 'assignment'
        AND o.id = h.assignment_id
        AND o.status <> 'active'
  )
ORDER BY u.sortable_name, h.user_id, c.name, h.course_id, a.name, h.assignment_id,
         h.submission_id, h.recorded_at, h.id;
