-- Layer 2 rows a sync appends: one per enrollment whose grades changed and one per
-- submission whose score or state changed, first sight included. Run after the
-- layer 1 writes, which kept the before-images compared here. Rows are appended in
-- the order of the Canvas ids, so that the same syncs always number them the same.

-- name: append_enrollment_grades
-- Grades of student enrollments that are new or whose grades changed in this sync.
INSERT INTO history.enrollment_grades (
    enrollment_id, course_id, user_id, sync_id, recorded_at,
    current_score, final_score, current_grade, final_grade,
    unposted_current_score, unposted_final_score, override_score
)
SELECT
    s.id, (s.rec).course_id, (s.rec).user_id, :'sync_id'::bigint, now(),
    (s.rec).current_score, (s.rec).final_score, (s.rec).current_grade, (s.rec).final_grade,
    (s.rec).unposted_current_score, (s.rec).unposted_final_score, (s.rec).override_score
FROM pg_temp.stage_enrollments AS s
LEFT JOIN tracker.sync_changes AS c
       ON c.sync_id = :'sync_id'::bigint
      AND c.relation = 'canvas.enrollments'
      AND c.kind = ''
      AND c.row_id = s.id
LEFT JOIN LATERAL jsonb_populate_record(NULL::canvas.enrollments, c.before) AS b ON true
WHERE (s.rec).type IN ('StudentEnrollment', 'StudentViewEnrollment')
  AND (NOT s.existed
       OR (s.changed
           AND ((s.rec).current_score, (s.rec).final_score, (s.rec).current_grade, (s.rec).final_grade,
                (s.rec).unposted_current_score, (s.rec).unposted_final_score, (s.rec).override_score)
               IS DISTINCT FROM
               (b.current_score, b.final_score, b.current_grade, b.final_grade,
                b.unposted_current_score, b.unposted_final_score, b.override_score)))
ORDER BY s.id;

-- name: append_submission_scores
-- Scores and states of submissions that are new or whose score or state changed in this
-- sync: the staged ones, and those the first-sight path copied into the courses
-- fresh_course_ids (none stored before this sync: each of their rows is this sync's).
INSERT INTO history.submission_scores (
    submission_id, course_id, assignment_id, user_id, sync_id, recorded_at,
    score, grade, excused, workflow_state, late, missing, graded_at
)
SELECT
    a.id, a.course_id, a.assignment_id, a.user_id, :'sync_id'::bigint, now(),
    a.score, a.grade, a.excused, a.workflow_state, a.late, a.missing, a.graded_at
FROM (
    SELECT (s.rec).*
    FROM pg_temp.stage_submissions AS s
    LEFT JOIN tracker.sync_changes AS c
           ON c.sync_id = :'sync_id'::bigint
          AND c.relation = 'canvas.submissions'
          AND c.kind = ''
          AND c.row_id = s.id
    LEFT JOIN LATERAL jsonb_populate_record(NULL::canvas.submissions, c.before) AS b ON true
    WHERE NOT s.existed
       OR (s.changed
           AND ((s.rec).score, (s.rec).grade, (s.rec).excused, (s.rec).workflow_state,
                (s.rec).late, (s.rec).missing)
               IS DISTINCT FROM
               (b.score, b.grade, b.excused, b.workflow_state, b.late, b.missing))
    UNION ALL
    SELECT t.*
    FROM canvas.submissions AS t
    WHERE t.course_id = ANY(:'fresh_course_ids'::bigint[])
      AND t.sync_id = :'sync_id'::bigint
) AS a
ORDER BY a.id;

-- name: delete_appended
-- Undo: remove the rows one sync appended (the append-only trigger lets this through
-- only after SET LOCAL tracker.history_write = 'undo').
-- allow table: history.enrollment_grades, history.submission_scores, history.course_snapshots, history.risk_assessments, history.grade_changes
DELETE FROM :"table"
WHERE sync_id = :'sync_id'::bigint;

-- name: allow_undo
-- Declare, for this transaction only, that history rows are being removed by an undo.
SELECT set_config('tracker.history_write', 'undo', true);
