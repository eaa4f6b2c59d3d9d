-- On a streaming replica: whether it still follows a primary, and how far
-- it has replayed the primary's WAL (a byte position; NULL when promoted).
SELECT pg_is_in_recovery(), (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::int8
