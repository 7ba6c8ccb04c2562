-- A sync refreshes the planner's statistics of the tables it wrote much of, so that what
-- follows in its transaction plans well (tracker.sync._worth_analyzing). But ANALYZE is
-- the table owner's right (and, from PostgreSQL 17, MAINTAIN's): run by the sync role of
-- sql/admin/roles.sql, it was skipped with a warning, and a role-separated school's sync
-- planned on statistics of a school a tenth its size. tracker.refresh_statistics runs it
-- with its owner's rights (SECURITY DEFINER, as the owner of the tables that runs the
-- migrations), for the tables a sync writes and no other. tracker_sync may call it:
-- granted here when that role exists already (a school whose syncs run as tracker_sync
-- goes on syncing before roles.sql runs again), and by roles.sql. Skipped, as before,
-- while another session analyzes the same table.
-- depends: 0024_course_figures_per_student

CREATE FUNCTION tracker.refresh_statistics(target regclass) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF target NOT IN ('canvas.terms'::regclass, 'canvas.courses'::regclass,
                      'canvas.sections'::regclass, 'canvas.users'::regclass,
                      'canvas.assignment_groups'::regclass, 'canvas.assignments'::regclass,
                      'canvas.enrollments'::regclass, 'canvas.submissions'::regclass,
                      'lifecycle.objects'::regclass, 'history.enrollment_grades'::regclass,
                      'history.submission_scores'::regclass) THEN
        RAISE EXCEPTION 'tracker.refresh_statistics: % is not a table a sync writes', target
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    EXECUTE format('ANALYZE (SKIP_LOCKED) %s', target);
END
$$;

COMMENT ON FUNCTION tracker.refresh_statistics(regclass) IS
    'ANALYZE one of the tables a sync writes, with the rights of its owner (for the sync role, which does not own them).';

REVOKE ALL ON FUNCTION tracker.refresh_statistics(regclass) FROM PUBLIC;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'tracker_sync') THEN
        GRANT EXECUTE ON FUNCTION tracker.refresh_statistics(regclass) TO tracker_sync;
    END IF;
END
$$;
