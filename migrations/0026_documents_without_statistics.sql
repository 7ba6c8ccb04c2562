-- The planner keeps no statistics of the Canvas documents themselves (the raw column of
-- each table of layer 1). No statement filters, joins or sorts on a whole document, and
-- an expression on one (raw ->> 'quiz_id') is estimated without them; yet every ANALYZE
-- read and sorted a sample of up to 30,000 documents to keep a histogram of 100 of them
-- in pg_statistic. A sync analyzes the tables it wrote much of inside its transaction
-- (tracker.refresh_statistics), so a first sync paid for it: 0.45 of its 1.2 s of ANALYZE
-- at 1,000,000 submissions, 1,000 courses and 50,000 assignments on PostgreSQL 15. And
-- those histograms were copies of whole documents (a student's name and email among
-- them) that outlived the rows themselves until the next ANALYZE. The statistics already
-- kept of these columns are cleared here too where the server lets the migration do so:
-- pg_clear_attribute_stats from PostgreSQL 18 (the table owner may), DELETE from
-- pg_statistic as a superuser before it. Otherwise they stay until a superuser clears them
-- (ANALYZE no longer refreshes them); the planner does not read them.
-- depends: 0025_refresh_statistics

DO $$
DECLARE
    layer_1 text;
BEGIN
    FOREACH layer_1 IN ARRAY ARRAY['terms', 'courses', 'sections', 'users', 'assignment_groups',
                                   'assignments', 'enrollments', 'submissions'] LOOP
        EXECUTE format('ALTER TABLE canvas.%I ALTER COLUMN raw SET STATISTICS 0', layer_1);
        IF current_setting('server_version_num')::int >= 180000 THEN
            PERFORM pg_catalog.pg_clear_attribute_stats('canvas', layer_1, 'raw', false);
        ELSIF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
            DELETE FROM pg_catalog.pg_statistic AS s
            USING pg_catalog.pg_attribute AS a
            WHERE a.attrelid = format('canvas.%I', layer_1)::regclass
              AND a.attname = 'raw'
              AND s.starelid = a.attrelid
              AND s.staattnum = a.attnum;
        END IF;
    END LOOP;
END
$$;
