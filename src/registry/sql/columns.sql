-- Columns of a table with their base type (domains resolved to the type they
-- constrain) and, for geometry columns, the type and SRID of the column's
-- type modifier. (The geometry_columns view is not used: for a generic column
-- with a CHECK on GeometryType it reports the first type in the check.)
SELECT a.attname::text AS name,
       coalesce(bt.typname, t.typname)::text AS base_type,
       CASE WHEN t.typname = 'geometry' THEN upper(postgis_typmod_type(a.atttypmod)) END AS geometry_type,
       CASE WHEN t.typname = 'geometry' THEN postgis_typmod_srid(a.atttypmod) END AS srid
FROM pg_attribute a
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
WHERE a.attrelid = to_regclass(quote_ident($1))
  AND a.attnum > 0
  AND NOT a.attisdropped
ORDER BY a.attnum
