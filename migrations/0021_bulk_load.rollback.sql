DROP FUNCTION tracker.build_indexes(text[]);
DROP FUNCTION tracker.defer_indexes(regclass);
