-- Validity (and, when $2, the repair by ST_MakeValid keeping only parts of
-- dimension $4 if > 0), promotion to Multi* ($3), the resulting type, and
-- whether it lies within the city boundary (NULL when there is none).
WITH g AS (
    SELECT ST_GeomFromEWKB(decode($1, 'hex')) AS g
), v AS (
    SELECT g, ST_IsValid(g) AS valid, ST_IsValidReason(g) AS reason FROM g
), r AS (
    SELECT valid, reason,
           CASE WHEN NOT valid AND $2 THEN
                CASE WHEN $4 > 0 THEN ST_CollectionExtract(ST_MakeValid(g), $4) ELSE ST_MakeValid(g) END
           ELSE g END AS g
    FROM v
), m AS (
    SELECT valid, reason, CASE WHEN $3 THEN ST_Multi(g) ELSE g END AS g FROM r
)
SELECT valid,
       reason,
       upper(GeometryType(g)),
       ST_IsValid(g),
       ST_IsEmpty(g),
       encode(ST_AsEWKB(ST_SetSRID(g, 4326)), 'hex'),
       (SELECT CASE WHEN count(*) = 0 THEN NULL ELSE bool_or(ST_CoveredBy(m.g, c.geom)) END
        FROM city_boundary c WHERE c.deleted_at IS NULL)
FROM m
