-- Where a read replica stands against its primary: the primary's WAL position, and
-- what the replica has replayed of it.

-- name: wal_position
-- On the primary: how far its WAL is written.
SELECT pg_current_wal_lsn()::text AS lsn;

-- name: replay_position
-- On the replica: whether it is one (in recovery), the WAL bytes it has still to replay
-- of what the primary had written at primary_lsn (0 or less: it has replayed all of
-- it), and the seconds since the last transaction it replayed committed on the primary.
SELECT pg_is_in_recovery() AS in_recovery,
       pg_wal_lsn_diff(:'primary_lsn'::pg_lsn, pg_last_wal_replay_lsn())::bigint AS behind_bytes,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())::double precision
           AS since_last_replayed_seconds;
