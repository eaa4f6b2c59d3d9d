-- The columns of a table: NOT NULL, default, type and (for a domain) its base type.
SELECT a.attname::text,
       a.attnotnull,
       (a.atthasdef OR a.attidentity <> '') AS has_default,
       t.typname::text,
       coalesce(bt.typname, t.typname)::text AS base_type
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
