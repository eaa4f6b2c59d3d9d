-- The end of the WAL written so far on the primary, as a byte position:
-- every transaction that committed before this call lies below it.
SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::int8
