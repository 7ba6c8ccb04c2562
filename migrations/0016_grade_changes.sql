-- Canvas's Grade Change Log in layer 2 (issue 16): who changed which grade, when, as
-- GET /api/v1/audit/grade_change/courses/:course_id lists the events. A bundle may hold
-- them in grade_changes.ndjson (or .json, gzipped or not) beside the eight kinds' files;
-- the sync appends each event once, by its Canvas event id (a later fetch whose window
-- overlaps adds only the events not stored yet), with the sync that first stored it, so
-- that undoing that sync removes them. Append-only, like the rest of layer 2.
--
-- The event's links name the course, the assignment, the student and the grader by
-- Canvas id; they are stored as global ids (tracker.canvas_id), and only the course is
-- a foreign key: the log speaks of graders tracker never syncs (teachers, autograders)
-- and of assignments and students that may be gone. Two Canvas oddities are kept
-- as they are, not refused:
--   * a final-grade override has the assignment "override": assignment_id is NULL and
--     is_override true;
--   * an autograder is a negative grader id (minus a quiz or tool id); an anonymous,
--     muted assignment's event may have no student (NULL).
--
-- Retention (tracker maintenance retention) treats a student's grade on one assignment
-- as the series: the newest event of each is always kept. The other places that list
-- the history tables (undo, cleanup, restore) follow tracker.kinds.HISTORY_TABLES.
-- depends: 0015_projection

CREATE TABLE history.grade_changes (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id           text NOT NULL UNIQUE CHECK (btrim(event_id) <> ''),
    course_id          bigint NOT NULL REFERENCES canvas.courses (id),
    assignment_id      bigint,
    is_override        boolean NOT NULL DEFAULT false,
    student_id         bigint,
    grader_id          bigint,
    sync_id            bigint NOT NULL,
    created_at         timestamptz NOT NULL,
    event_type         text,
    grade_before       text,
    grade_after        text,
    excused_before     boolean,
    excused_after      boolean,
    graded_anonymously boolean,
    version_number     integer,
    raw                jsonb NOT NULL,
    CHECK (NOT (is_override AND assignment_id IS NOT NULL))
);
CREATE INDEX grade_changes_course_idx ON history.grade_changes (course_id, created_at);
CREATE INDEX grade_changes_student_idx ON history.grade_changes (student_id, course_id, created_at);
CREATE INDEX grade_changes_assignment_idx ON history.grade_changes (assignment_id, student_id, created_at);

CREATE TRIGGER grade_changes_append_only BEFORE UPDATE OR DELETE ON history.grade_changes
    FOR EACH ROW EXECUTE FUNCTION history.refuse_change();
CREATE TRIGGER grade_changes_no_truncate BEFORE TRUNCATE ON history.grade_changes
    FOR EACH STATEMENT EXECUTE FUNCTION history.refuse_change();

COMMENT ON TABLE history.grade_changes IS
    'Canvas''s Grade Change Log: one row per audit event (GET /audit/grade_change/courses/:id), stored once by its event id, append-only.';
COMMENT ON COLUMN history.grade_changes.event_id IS
    'Canvas''s id of the event (a string); a re-fetched event is not stored again.';
COMMENT ON COLUMN history.grade_changes.course_id IS 'links.course, as a global id.';
COMMENT ON COLUMN history.grade_changes.assignment_id IS
    'links.assignment, as a global id; NULL for a final-grade override (is_override).';
COMMENT ON COLUMN history.grade_changes.is_override IS
    'The event changed a final-grade override (Canvas''s links.assignment "override").';
COMMENT ON COLUMN history.grade_changes.student_id IS
    'links.student, as a global id; NULL when Canvas leaves it out (anonymous, muted assignments).';
COMMENT ON COLUMN history.grade_changes.grader_id IS
    'links.grader, as a global id; negative for an autograder (minus a quiz or tool id).';
COMMENT ON COLUMN history.grade_changes.sync_id IS
    'The sync that first stored the event (tracker.sync_runs); undoing it removes the row.';
COMMENT ON COLUMN history.grade_changes.created_at IS 'When Canvas recorded the change.';
COMMENT ON COLUMN history.grade_changes.version_number IS
    'The submission version the change made (Canvas''s version_number).';
COMMENT ON COLUMN history.grade_changes.raw IS 'The event exactly as Canvas sent it.';

-- Retention may be set for the new table too.
ALTER TABLE archive.retention_policies DROP CONSTRAINT retention_policies_relation_check;
ALTER TABLE archive.retention_policies ADD CONSTRAINT retention_policies_relation_check
    CHECK (relation IN ('history.enrollment_grades', 'history.submission_scores',
                        'history.course_snapshots', 'history.risk_assessments',
                        'history.grade_changes'));
