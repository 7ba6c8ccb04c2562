-- The watermarks of live fetches: per course, the moment by Canvas's own clock (the Date
-- header of its first answer for the course's submissions) from which a later
-- incremental fetch asks for what was graded or submitted since.
-- depends: 0016_grade_changes

CREATE TABLE tracker.fetch_watermarks (
    sync_id     bigint NOT NULL REFERENCES tracker.sync_runs (sync_id),
    course_id   bigint NOT NULL,
    canvas_time timestamptz NOT NULL,
    PRIMARY KEY (sync_id, course_id)
);

CREATE INDEX fetch_watermarks_course_idx ON tracker.fetch_watermarks (course_id, canvas_time);

COMMENT ON TABLE tracker.fetch_watermarks IS
    'Per live sync and course: Canvas''s clock when its submissions were fetched (for --incremental).';
COMMENT ON COLUMN tracker.fetch_watermarks.canvas_time IS
    'The Date header of Canvas''s first answer for the course''s submissions: never this machine''s clock.';
