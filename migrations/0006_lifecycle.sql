-- Layer 0 (schema lifecycle): whether each Canvas object still exists.
--
-- One row per object of every kind but submissions, written when a sync first sees
-- it and changed only when its status changes: a full sync that no longer sees an
-- object of its scope marks it missing; one that sees it again reactivates it;
-- deletion needs someone's approval (approved_by) and happens at cleanup. "Last
-- seen" is not stored: an active object was seen by its scope's latest full sync
-- (tracker.sync_runs), so an unchanged re-sync writes nothing here.
--
-- Submissions have no rows of their own: they are 95% of the rows, they are not
-- independent objects in Canvas (one exists per assignment and assigned student),
-- and they follow their assignment and their student's enrollment in the course:
-- a submission is missing when either of those is.
-- depends: 0005_userdata

CREATE TABLE lifecycle.objects (
    kind                  text NOT NULL CHECK (kind IN
                              ('term', 'course', 'section', 'user', 'assignment_group', 'assignment',
                               'enrollment')),
    id                    bigint NOT NULL,
    course_id             bigint,  -- the scope of course-scoped objects; null for terms and users
    status                text NOT NULL DEFAULT 'active'
                          CHECK (status IN ('active', 'missing', 'pending_deletion', 'deleted')),
    first_seen_sync_id    bigint NOT NULL REFERENCES tracker.sync_runs (sync_id),
    first_seen_at         timestamptz NOT NULL,
    missing_since_sync_id bigint REFERENCES tracker.sync_runs (sync_id),
    missing_since         timestamptz,
    approved_by           text,
    approved_at           timestamptz,
    deleted_at            timestamptz,
    PRIMARY KEY (kind, id),
    CHECK ((status = 'active') = (missing_since_sync_id IS NULL)),
    CHECK ((missing_since_sync_id IS NULL) = (missing_since IS NULL)),
    CHECK ((status IN ('pending_deletion', 'deleted')) = (approved_by IS NOT NULL)),
    CHECK ((approved_by IS NULL) = (approved_at IS NULL)),
    CHECK ((status = 'deleted') = (deleted_at IS NOT NULL))
);
CREATE INDEX objects_course_idx ON lifecycle.objects (course_id, kind);
CREATE INDEX objects_status_idx ON lifecycle.objects (status, kind) WHERE status <> 'active';
