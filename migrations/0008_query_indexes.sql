-- Indexes and statistics for the questions about students (tracker.queries and
-- sql/reports), measured at 1,000,000 submissions by `python -m bench --scale full`.
--
-- Recent activity reads the newest submitted work, graded work and recorded course
-- grades first and stops at a page's end: one index per moment, with the row id that
-- breaks ties in the same order (read backwards).
--
-- Course-wide analytics (at-risk students, course statistics, missing work) read the
-- same few columns of every submission of a course, or of every course: the course
-- index carries them, so that they are read from an index a tenth of the table's size
-- (an index-only scan) instead of rows that also hold Canvas's whole object as jsonb.
-- It replaces the index on course_id alone, which would now be a redundant prefix.
--
-- Nearly every question starts from the active students of a course (not the test
-- student): a partial index holds just those enrollments, with what the questions read
-- of them, so that finding them, or checking that a submission is one of theirs, does
-- not read enrollment rows (each carries Canvas's object, grades and all).
--
-- The planner assumes user_id and course_id independent and expects five times more
-- (student, course) groups than there are; the extended statistics say otherwise, so
-- per-student aggregates are hashed in memory instead of sorted.
--
-- And one definition each of what the questions count: canvas.active_students, the
-- student enrollments that are active, not the test student and not marked missing in
-- layer 0; canvas.graded_assignments, the assignments that count toward a grade (graded,
-- not omitted from the final grade, published, not deleted, not marked missing in layer
-- 0). The reports and analytics read them instead of spelling the conditions out each
-- time; the planner reads through them to the tables and indexes beneath.
-- depends: 0007_archive

CREATE INDEX submissions_submitted_at_idx ON canvas.submissions (submitted_at, id)
    WHERE submitted_at IS NOT NULL;

CREATE INDEX submissions_graded_at_idx ON canvas.submissions (graded_at, id)
    WHERE graded_at IS NOT NULL;

CREATE INDEX enrollment_grades_recorded_idx ON history.enrollment_grades (recorded_at, id);

DROP INDEX canvas.submissions_course_idx;

CREATE INDEX submissions_course_idx ON canvas.submissions (course_id, user_id)
    INCLUDE (assignment_id, workflow_state, score, excused, late, missing,
             late_policy_status, submitted_at, graded_at, cached_due_date);

CREATE INDEX enrollments_active_students_idx ON canvas.enrollments (course_id, user_id)
    INCLUDE (id, current_score, last_activity_at)
    WHERE type = 'StudentEnrollment' AND enrollment_state = 'active' AND NOT is_test_student;

CREATE STATISTICS canvas.submissions_user_course (ndistinct)
    ON user_id, course_id FROM canvas.submissions;

CREATE VIEW canvas.active_students AS
SELECT
    e.id,
    e.user_id,
    e.course_id,
    e.course_section_id,
    e.role,
    e.current_score,
    e.final_score,
    e.current_grade,
    e.final_grade,
    e.last_activity_at,
    e.sync_id
FROM canvas.enrollments AS e
WHERE e.type = 'StudentEnrollment'
  AND e.enrollment_state = 'active'
  AND NOT e.is_test_student
  AND NOT EXISTS (
      SELECT 1
      FROM lifecycle.objects AS o
      WHERE o.kind = 'enrollment'
        AND o.id = e.id
        AND o.status <> 'active'
  );

COMMENT ON VIEW canvas.active_students IS
    'Active student enrollments: not the test student, not marked missing in layer 0.';

CREATE VIEW canvas.graded_assignments AS
SELECT
    a.id,
    a.course_id,
    a.assignment_group_id,
    a.name,
    a.due_at,
    a.points_possible,
    a.grading_type,
    a.sync_id
FROM canvas.assignments AS a
WHERE a.grading_type IS DISTINCT FROM 'not_graded'
  AND a.omit_from_final_grade IS NOT TRUE
  AND a.published IS NOT FALSE
  AND a.workflow_state IS DISTINCT FROM 'deleted'
  AND NOT EXISTS (
      SELECT 1
      FROM lifecycle.objects AS o
      WHERE o.kind = 'assignment'
        AND o.id = a.id
        AND o.status <> 'active'
  );

COMMENT ON VIEW canvas.graded_assignments IS
    'Assignments that count toward a grade: graded, not omitted, published, not deleted, not marked missing in layer 0.';
