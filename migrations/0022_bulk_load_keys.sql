-- A school's first sync also checks its submissions' references once, after the load,
-- instead of once a row (PostgreSQL's manual, "Populating a Database": remove foreign key
-- constraints). Kept up row by row, canvas.submissions' three foreign keys cost three
-- lookups and three row locks of the referenced rows for each submission copied: more
-- than half of the first-sight COPY. Added again after the load, each is checked by one
-- join over the whole table.
--
-- tracker.defer_foreign_keys(table) drops the table's foreign keys and returns the
-- statements that add them again (tracker.build_indexes runs them, as it runs the
-- definitions tracker.defer_indexes returns), or returns NULL and does nothing under the
-- conditions tracker.defer_indexes keeps (the table has a row, is not the caller's role's,
-- or another session holds a lock on it) and when another session holds a lock on one of
-- the referenced tables: dropping a foreign key takes the referenced table's ACCESS
-- EXCLUSIVE lock too, until the transaction ends, so it is asked with NOWAIT as well.
-- depends: 0021_bulk_load

CREATE FUNCTION tracker.defer_foreign_keys(target regclass) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    has_rows boolean;
    referenced regclass;
    dropped text[];
    key_names text;
BEGIN
    IF NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = target), 'USAGE') THEN
        RETURN NULL;
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s)', target) INTO has_rows;
    IF has_rows THEN
        RETURN NULL;
    END IF;
    BEGIN
        EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE NOWAIT', target);
        FOR referenced IN
            SELECT DISTINCT c.confrelid::regclass
            FROM pg_constraint AS c
            WHERE c.conrelid = target AND c.contype = 'f'
        LOOP
            EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE NOWAIT', referenced);
        END LOOP;
    EXCEPTION WHEN lock_not_available THEN
        RETURN NULL;
    END;
    SELECT coalesce(array_agg(format('ALTER TABLE %s ADD CONSTRAINT %I %s', target, c.conname,
                                     pg_get_constraintdef(c.oid)) ORDER BY c.conname), '{}'),
           string_agg(format('DROP CONSTRAINT %I', c.conname), ', ' ORDER BY c.conname)
    INTO dropped, key_names
    FROM pg_constraint AS c
    WHERE c.conrelid = target AND c.contype = 'f';
    IF cardinality(dropped) > 0 THEN
        EXECUTE format('ALTER TABLE %s %s', target, key_names);
    END IF;
    RETURN dropped;
END;
$$;

COMMENT ON FUNCTION tracker.defer_foreign_keys(regclass) IS
    'Drop the foreign keys of an empty table, and return the statements that add them again (NULL: the table has rows, is not ours, or it or a table it references is in use).';

COMMENT ON FUNCTION tracker.build_indexes(text[]) IS
    'Make again what tracker.defer_indexes or tracker.defer_foreign_keys dropped, from the definitions they returned.';
