-- The documents' statistics come back with the next ANALYZE of each table.
DO $$
DECLARE
    layer_1 text;
BEGIN
    FOREACH layer_1 IN ARRAY ARRAY['terms', 'courses', 'sections', 'users', 'assignment_groups',
                                   'assignments', 'enrollments', 'submissions'] LOOP
        EXECUTE format('ALTER TABLE canvas.%I ALTER COLUMN raw SET STATISTICS -1', layer_1);
    END LOOP;
END
$$;
