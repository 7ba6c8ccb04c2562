-- The archive as CSV (with a header): every archived row of one relation (or of all,
-- with an empty relation), optionally of one archive run, each row whole as JSON.
--
--   psql -X -v ON_ERROR_STOP=1 -v relation=history.enrollment_grades -v run_id= \
--        -f sql/maintenance/archive_export.sql > archived.csv

-- name: export_archived_rows
-- Archived rows as CSV: run, relation, key, object, when, the row as JSON.
COPY (
    SELECT a.run_id, r.kind AS run_kind, a.relation, a.row_id, a.object_kind, a.object_id,
           a.archived_at, a.row_data
    FROM archive.rows AS a
    JOIN archive.runs AS r ON r.run_id = a.run_id
    WHERE (nullif(:'relation'::text, '') IS NULL OR a.relation = :'relation'::text)
      AND (nullif(:'run_id'::text, '') IS NULL OR a.run_id = nullif(:'run_id'::text, '')::bigint)
    ORDER BY a.run_id, a.relation, a.row_id
) TO STDOUT WITH (FORMAT csv, HEADER true);
