-- $1 kind, $2 from, $3 to, $4 category
WITH d AS MATERIALIZED (SELECT id, kind, number, name, population, geom FROM analytics_districts($1)),
c AS MATERIALIZED (
    SELECT a.district_id, a.category, count(*) AS n
    FROM analytics_appeals($1, $2, $3, $4) a GROUP BY 1, 2
),
t AS (
    SELECT district_id, sum(n)::bigint AS n, jsonb_object_agg(category, n ORDER BY category) AS by_category
    FROM c GROUP BY 1
)
SELECT d.id, d.kind, d.number, d.name, d.population,
       coalesce(t.n, 0) AS appeals,
       CASE WHEN d.population > 0 THEN round(coalesce(t.n, 0) * 1000.0 / d.population, 3) END AS per_1000,
       coalesce(t.by_category, '{}'::jsonb) AS by_category,
       d.geom
FROM d
LEFT JOIN t ON t.district_id = d.id
ORDER BY d.number NULLS LAST, d.id
