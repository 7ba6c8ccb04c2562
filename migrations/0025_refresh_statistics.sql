-- A sync refreshes the planner's statistics of a table it wrote into, so that what follows
-- in its transaction plans well, when autovacuum would (it wrote at least
-- autovacuum_analyze_threshold rows plus autovacuum_analyze_scale_factor of those the
-- planner believes the table holds), or when the planner has no statistics of the table
-- at all. Autovacuum does so only later, after the commit: planned on no statistics, or
-- on those of a school a tenth the size, the risk assessment that ends a sync nested its
-- loops (9 s for a first sync of 100 enrollments, 17 s for a course of 100 students
-- synced after a school of 8, against 10 ms with statistics). But ANALYZE is
-- the table owner's right (and, from PostgreSQL 17, MAINTAIN's): run by the sync role of
-- sql/admin/roles.sql, it was skipped with a warning, and a role-separated school's sync
-- planned on statistics of a school a tenth its size. tracker.refresh_statistics runs it
-- with its owner's rights (SECURITY DEFINER, as the owner of the tables that runs the
-- migrations), for the tables a sync writes and no other. tracker_sync may call it:
-- granted here when that role exists already (a school whose syncs run as tracker_sync
-- goes on syncing before roles.sql runs again), and by roles.sql. Skipped, as before,
-- while another session analyzes the same table.
-- depends: 0024_course_figures_per_student

CREATE FUNCTION tracker.refresh_statistics(target regclass, written bigint) RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    believed_rows real;
    has_statistics boolean;
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
    IF written <= 0 THEN
        RETURN false;
    END IF;
    SELECT c.reltuples,  -- -1 before the table was first vacuumed or analyzed
           EXISTS (SELECT FROM pg_stats AS st
                   WHERE st.schemaname = n.nspname AND st.tablename = c.relname)
    INTO believed_rows, has_statistics
    FROM pg_class AS c
    JOIN pg_namespace AS n ON n.oid = c.relnamespace
    WHERE c.oid = target;
    IF has_statistics
       AND written < current_setting('autovacuum_analyze_threshold')::bigint
                     + current_setting('autovacuum_analyze_scale_factor')::float8
                       * greatest(believed_rows, 0) THEN
        RETURN false;
    END IF;
    EXECUTE format('ANALYZE (SKIP_LOCKED) %s', target);
    RETURN true;
END
$$;

COMMENT ON FUNCTION tracker.refresh_statistics(regclass, bigint) IS
    'ANALYZE one of the tables a sync writes, after it wrote written rows, when autovacuum would or the planner has no statistics of it, with the rights of its owner (for the sync role, which does not own them); true if it did.';

REVOKE ALL ON FUNCTION tracker.refresh_statistics(regclass, bigint) FROM PUBLIC;

DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'tracker_sync') THEN
        GRANT EXECUTE ON FUNCTION tracker.refresh_statistics(regclass, bigint) TO tracker_sync;
    END IF;
END
$$;
