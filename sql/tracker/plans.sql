-- How the server plans the library's own prepared statements.

-- name: plan_generically
-- For the rest of this transaction, plan prepared statements once, for any values.
-- For a query builder whose one plan fits every value (it chooses by the data's
-- statistics, not by the values): PostgreSQL would otherwise plan it afresh at each run
-- whenever its estimate of the generic plan came out above the custom ones, and the
-- planning can cost more than the query (students of curricula: 0.8 ms of 2).
SELECT set_config('plan_cache_mode', 'force_generic_plan', true);
