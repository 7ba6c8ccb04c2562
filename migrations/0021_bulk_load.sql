-- Filling an empty table goes faster, and writes less WAL, when its secondary indexes are
-- built once at the end instead of kept up row by row (PostgreSQL's manual, "Populating
-- a Database": remove indexes). A school's first sync fills canvas.submissions,
-- history.submission_scores and lifecycle.objects from nothing; tracker.defer_indexes and
-- tracker.build_indexes let it do so inside its one transaction, so a sync that fails
-- leaves the indexes as they were.
--
-- tracker.defer_indexes(table) drops the table's indexes that no constraint owns and
-- returns their definitions, or returns NULL and does nothing when the table has a row,
-- when the caller's role does not own it, or when another session holds any lock on it
-- (DROP INDEX takes the table's ACCESS EXCLUSIVE lock until the transaction ends: asked
-- with NOWAIT, so a reader is never queued behind a long load, nor the load behind it).
-- tracker.build_indexes(definitions) makes them again.
-- depends: 0020_min_group

CREATE FUNCTION tracker.defer_indexes(target regclass) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    has_rows boolean;
    dropped text[];
    index_names text;
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
    EXCEPTION WHEN lock_not_available THEN
        RETURN NULL;
    END;
    SELECT coalesce(array_agg(pg_get_indexdef(i.indexrelid) ORDER BY i.indexrelid), '{}'),
           string_agg(i.indexrelid::regclass::text, ', ' ORDER BY i.indexrelid)
    INTO dropped, index_names
    FROM pg_index AS i
    WHERE i.indrelid = target
      AND NOT i.indisunique
      AND NOT i.indisexclusion
      AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid);
    IF cardinality(dropped) > 0 THEN
        EXECUTE 'DROP INDEX ' || index_names;
    END IF;
    RETURN dropped;
END;
$$;

COMMENT ON FUNCTION tracker.defer_indexes(regclass) IS
    'Drop the indexes of an empty table that no constraint owns, and return their definitions (NULL: the table has rows, is not ours, or is in use).';

CREATE FUNCTION tracker.build_indexes(definitions text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    definition text;
BEGIN
    FOREACH definition IN ARRAY definitions LOOP
        EXECUTE definition;
    END LOOP;
END;
$$;

COMMENT ON FUNCTION tracker.build_indexes(text[]) IS
    'Make the indexes tracker.defer_indexes dropped, from the definitions it returned.';
