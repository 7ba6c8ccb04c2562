COMMENT ON FUNCTION tracker.build_indexes(text[]) IS
    'Make the indexes tracker.defer_indexes dropped, from the definitions it returned.';
DROP FUNCTION tracker.defer_foreign_keys(regclass);
