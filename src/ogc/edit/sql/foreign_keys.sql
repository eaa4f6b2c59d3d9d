-- Single-column foreign keys: column, referenced table and column, and
-- whether the referenced table has live rows (a deleted_at column).
SELECT c.conname::text,
       a.attname::text,
       c.confrelid::regclass::text,
       fa.attname::text,
       EXISTS (SELECT 1 FROM pg_attribute d
               WHERE d.attrelid = c.confrelid AND d.attname = 'deleted_at' AND NOT d.attisdropped)
FROM pg_constraint c
JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
JOIN pg_attribute fa ON fa.attrelid = c.confrelid AND fa.attnum = c.confkey[1]
WHERE c.conrelid = $1::regclass AND c.contype = 'f' AND cardinality(c.conkey) = 1
ORDER BY c.conname
