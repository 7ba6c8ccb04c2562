-- Writing a sync's staged rows into layer 1. For each table, in the order of its
-- foreign keys: keep the before-images of the rows about to change, overwrite
-- the changed rows, insert the new ones. Unchanged rows are not written at all.

-- name: save_before_images
-- Keep the stored version of every row this sync is about to overwrite (for undo and reports).
-- allow table: canvas.terms, canvas.courses, canvas.sections, canvas.users, canvas.assignment_groups, canvas.assignments, canvas.enrollments, canvas.submissions
-- allow stage: pg_temp.stage_terms, pg_temp.stage_courses, pg_temp.stage_sections, pg_temp.stage_users, pg_temp.stage_assignment_groups, pg_temp.stage_assignments, pg_temp.stage_enrollments, pg_temp.stage_submissions
INSERT INTO tracker.sync_changes (sync_id, relation, row_id, before)
SELECT :'sync_id'::bigint, :'relation'::text, t.id, to_jsonb(t)
FROM :"table" AS t
JOIN :"stage" AS s ON s.id = t.id
WHERE s.existed
  AND s.changed;

-- name: refresh_statistics
-- Refresh the planner's statistics of a table this sync wrote written rows of, when
-- autovacuum would or the planner has none, so that what follows in the same transaction
-- plans well: ANALYZE with the rights of the table's owner, skipped if another session is
-- analyzing it (migration 0025_refresh_statistics, \sf tracker.refresh_statistics).
SELECT tracker.refresh_statistics(:'table'::regclass, :'written'::bigint);

-- name: insert_new
-- Insert the staged rows that are not stored yet. A concurrent sync of another course
-- may have inserted the same shared row (a user, a term) a moment ago: keep that one.
-- allow table: canvas.terms, canvas.courses, canvas.sections, canvas.users, canvas.assignment_groups, canvas.assignments, canvas.enrollments, canvas.submissions
-- allow stage: pg_temp.stage_terms, pg_temp.stage_courses, pg_temp.stage_sections, pg_temp.stage_users, pg_temp.stage_assignment_groups, pg_temp.stage_assignments, pg_temp.stage_enrollments, pg_temp.stage_submissions
INSERT INTO :"table"
SELECT (s.rec).*
FROM :"stage" AS s
WHERE NOT s.existed
ON CONFLICT (id) DO NOTHING;

-- name: update_terms
-- Overwrite the terms whose staged row changed (sync), or put back their before-images (undo).
-- allow stage: pg_temp.stage_terms, pg_temp.undo_terms
UPDATE canvas.terms AS t
SET (
    id, name, start_at, end_at, created_at, workflow_state, grading_period_group_id,
    sis_term_id, raw_hash, raw, sync_id
) = ROW((s.rec).*)
FROM :"stage" AS s
WHERE t.id = s.id
  AND s.changed;

-- name: update_courses
-- Overwrite the courses whose staged row changed (sync), or put back their before-images (undo).
-- allow stage: pg_temp.stage_courses, pg_temp.undo_courses
UPDATE canvas.courses AS t
SET (
    id, name, original_name, course_code, uuid, account_id, root_account_id,
    enrollment_term_id, grading_standard_id, start_at, end_at, created_at, time_zone,
    workflow_state, hide_final_grades, apply_assignment_group_weights, sis_course_id,
    raw_hash, raw, sync_id
) = ROW((s.rec).*)
FROM :"stage" AS s
WHERE t.id = s.id
  AND s.changed;

-- name: update_sections
-- Overwrite the sections whose staged row changed (sync), or put back their before-images (undo).
-- allow stage: pg_temp.stage_sections, pg_temp.undo_sections
UPDATE canvas.sections AS t
SET (
    id, course_id, name, sis_section_id, start_at, end_at, raw_hash, raw, sync_id
) = ROW((s.rec).*)
FROM :"stage" AS s
WHERE t.id = s.id
  AND s.changed;

-- name: update_users
-- Overwrite the users whose staged row changed (sync), or put back their before-images (undo).
-- allow stage: pg_temp.stage_users, pg_temp.undo_users
UPDATE canvas.users AS t
SET (
    id, name, sortable_name, short_name, sis_user_id, login_id, email, created_at,
    raw_hash, raw, sync_id
) = ROW((s.rec).*)
FROM :"stage" AS s
WHERE t.id = s.id
  AND s.changed;

-- name: update_assignment_groups
-- Overwrite the assignment_groups whose staged row changed (sync), or put back their before-images (undo).
-- allow stage: pg_temp.stage_assignment_groups, pg_temp.undo_assignment_groups
UPDATE canvas.assignment_groups AS t
SET (
    id, course_id, name, position, group_weight, rules, raw_hash, raw, sync_id
) = ROW((s.rec).*)
FROM :"stage" AS s
WHERE t.id = s.id
  AND s.changed;

-- name: update_assignments
-- Overwrite the assignments whose staged row changed (sync), or put back their before-images (undo).
-- allow stage: pg_temp.stage_assignments, pg_temp.undo_assignments
UPDATE canvas.assignments AS t
SET (
    id, course_id, assignment_group_id, name, position, points_possible, grading_type,
    submission_types, due_at, lock_at, unlock_at, created_at, updated_at, published,
    workflow_state, omit_from_final_grade, sis_assignment_id, raw_hash, raw, sync_id
) = ROW((s.rec).*)
FROM :"stage" AS s
WHERE t.id = s.id
  AND s.changed;

-- name: update_enrollments
-- Overwrite the enrollments whose staged row changed (sync), or put back their before-images (undo).
-- allow stage: pg_temp.stage_enrollments, pg_temp.undo_enrollments
UPDATE canvas.enrollments AS t
SET (
    id, user_id, course_id, course_section_id, type, role, role_id, enrollment_state,
    associated_user_id, is_test_student, current_score, final_score, current_grade,
    final_grade, unposted_current_score, unposted_final_score, unposted_current_grade,
    unposted_final_grade, override_score, override_grade, current_points, last_activity_at,
    last_attended_at, total_activity_time, start_at, end_at, created_at, updated_at,
    raw_hash, raw, sync_id
) = ROW((s.rec).*)
FROM :"stage" AS s
WHERE t.id = s.id
  AND s.changed;

-- name: update_submissions
-- Overwrite the submissions whose staged row changed (sync), or put back their before-images (undo).
-- allow stage: pg_temp.stage_submissions, pg_temp.undo_submissions
UPDATE canvas.submissions AS t
SET (
    id, course_id, assignment_id, user_id, anonymous_id, submission_type, score, grade,
    entered_score, entered_grade, excused, attempt, workflow_state, late, missing,
    late_policy_status, seconds_late, points_deducted, submitted_at, graded_at, posted_at,
    cached_due_date, grader_id, raw_hash, raw, sync_id
) = ROW((s.rec).*)
FROM :"stage" AS s
WHERE t.id = s.id
  AND s.changed;

-- name: assignment_courses
-- The course of each assignment of these courses, as stored after this sync's writes:
-- the first-sight path gives each submission its assignment's course.
SELECT a.id, a.course_id
FROM canvas.assignments AS a
WHERE a.course_id = ANY(:'course_ids'::bigint[]);

-- name: user_ids
-- Every user stored after this sync's writes: the first-sight path checks each
-- submission's user against them before sending it (its foreign keys are checked by the
-- server once, after the load).
SELECT u.id
FROM canvas.users AS u;

-- name: copy_first_sight_submissions
-- Receive submissions the database has never seen, typed by the client, straight into
-- layer 1 (tracker/first_sight.py). The primary key refuses a duplicate id; the foreign
-- keys, checked as rows arrive or, on a school's first sync, once after the load, refuse
-- a reference the client let through. The sync then starts again by the checking path,
-- which names the record.
COPY canvas.submissions (
    id, course_id, assignment_id, user_id, anonymous_id, submission_type, score, grade,
    entered_score, entered_grade, excused, attempt, workflow_state, late, missing,
    late_policy_status, seconds_late, points_deducted, submitted_at, graded_at, posted_at,
    cached_due_date, grader_id, raw_hash, raw, sync_id
) FROM STDIN;
