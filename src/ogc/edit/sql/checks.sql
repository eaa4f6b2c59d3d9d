-- CHECK constraints of a table: name, expression and the columns they name.
SELECT c.conname::text,
       pg_get_expr(c.conbin, c.conrelid),
       ARRAY(SELECT a.attname::text FROM pg_attribute a
             WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
             ORDER BY array_position(c.conkey, a.attnum))
FROM pg_constraint c
WHERE c.conrelid = $1::regclass AND c.contype = 'c'
ORDER BY c.conname
