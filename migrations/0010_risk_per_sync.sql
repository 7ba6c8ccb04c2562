-- Risk assessments recorded by a sync carry its id, as the course snapshots do: each sync
-- assesses the active students of the courses it changed (tracker.analytics.
-- record_sync_risk), so layer 2 holds every student's risk as each sync left it, the
-- latest_risk report reads the institution's at-risk students from there, and undoing
-- the sync removes what it appended. Null: recorded outside a sync (tracker.analytics.
-- record_risk_assessments called by a program, or by the demo).
-- depends: 0009_course_figures

ALTER TABLE history.risk_assessments ADD COLUMN sync_id bigint;

COMMENT ON COLUMN history.risk_assessments.sync_id IS
    'The sync that recorded the assessment (after writing the course''s changes); null: recorded outside a sync.';
