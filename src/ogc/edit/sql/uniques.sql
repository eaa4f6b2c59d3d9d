-- Unique indexes on plain columns (not the primary key), with their
-- predicate (e.g. "deleted_at IS NULL": unique among live rows).
SELECT i.indexrelid::regclass::text,
       ARRAY(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[])),
       pg_get_expr(i.indpred, i.indrelid)
FROM pg_index i
WHERE i.indrelid = $1::regclass AND i.indisunique AND NOT i.indisprimary AND i.indexprs IS NULL
ORDER BY 1
