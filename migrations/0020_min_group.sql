-- The smallest group of students an aggregate is shown for, as published education
-- statistics do: a mean, median, distribution or count over fewer students is suppressed
-- (NULL, and the row says so). reports.min_group() is the database's setting
-- tracker.min_group, default 5; a DBA changes it for every session with
--     ALTER DATABASE tracker SET tracker.min_group = 10;
-- (or for one role, ALTER ROLE ... SET). sql/reports/course_statistics.sql uses it when
-- its psql variable min_group is empty; tracker passes TRACKER_MIN_GROUP when it is set.
-- A setting that is not a whole number of at least 1 is an error, not a silent default.
-- depends: 0019_history_without_row_locks

CREATE FUNCTION reports.min_group() RETURNS integer
LANGUAGE plpgsql STABLE AS $$
DECLARE
    setting text := NULLIF(btrim(current_setting('tracker.min_group', true)), '');
BEGIN
    IF setting IS NULL THEN
        RETURN 5;
    END IF;
    IF setting !~ '^[0-9]{1,9}$' OR setting::integer < 1 THEN
        RAISE EXCEPTION 'tracker.min_group is %, not a whole number of at least 1', setting
            USING HINT = 'ALTER DATABASE ... SET tracker.min_group = 5 (or RESET it)';
    END IF;
    RETURN setting::integer;
END;
$$;

COMMENT ON FUNCTION reports.min_group() IS
    'The smallest group of students an aggregate is shown for: the setting tracker.min_group, default 5.';
