-- VACUUM and ANALYZE one table of tracker's schemas, on request (outside a transaction).
--
--   psql -X -v ON_ERROR_STOP=1 -v schema=canvas -v table=submissions -f sql/maintenance/vacuum.sql

-- name: vacuum_analyze_table
-- Reclaim the dead rows of one table and refresh its planner statistics.
-- allow schema: canvas, history, userdata, lifecycle, tracker, archive
-- allow table: terms, courses, sections, users, assignment_groups, assignments, enrollments, submissions, enrollment_grades, submission_scores, course_snapshots, risk_assessments, grade_changes, audit_log, notes, custom_fields, tags, tag_links, tag_synonyms, curricula, curriculum_courses, objects, sync_runs, sync_changes, runs, rows, retention_policies
VACUUM (ANALYZE) :"schema".:"table";
