-- Retention policies of layer 2: how long each history table keeps its rows before
-- retention.sql archives them. Run whole, this sets (or, with an empty keep, removes)
-- one policy and lists them all:
--
--   psql -X -v ON_ERROR_STOP=1 -v relation=history.submission_scores -v keep='2 years' \
--        -v actor=dba -f sql/maintenance/policies.sql

-- name: drop_retention_policy
-- Remove one table's policy when keep is empty (its rows are then kept forever).
DELETE FROM archive.retention_policies
WHERE relation = :'relation'::text
  AND nullif(:'keep'::text, '') IS NULL;

-- name: put_retention_policy
-- Set one table's policy when keep is given (an interval such as '2 years').
INSERT INTO archive.retention_policies AS p (relation, keep, updated_by)
SELECT :'relation'::text, nullif(:'keep'::text, '')::interval, :'actor'::text
WHERE nullif(:'keep'::text, '') IS NOT NULL
ON CONFLICT (relation) DO UPDATE
SET keep = excluded.keep,
    updated_by = excluded.updated_by,
    updated_at = now();

-- name: list_retention_policies
-- Every retention policy.
SELECT relation, keep, updated_by, updated_at
FROM archive.retention_policies
ORDER BY relation;
