DROP FUNCTION tracker.statement_stats(integer);
DROP INDEX userdata.audit_log_subject_idx;
DROP INDEX userdata.audit_log_row_idx;
DROP TABLE userdata.tag_synonyms;
DROP TABLE archive.retention_policies;
DROP TABLE archive.rows;
DROP TABLE archive.runs;
DROP SCHEMA archive;
