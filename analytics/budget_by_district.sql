-- $1 kind, $2 year, $3 funding. A project counts in the district holding
-- its point on surface (the lowest district id on a border).
WITH d AS MATERIALIZED (SELECT * FROM analytics_districts($1)),
b AS (
    SELECT DISTINCT ON (x.id) d.id AS district_id, x.planned_uah, x.contracted_uah, x.paid_uah
    FROM budget_projects x JOIN d ON ST_Intersects(d.geom, ST_PointOnSurface(x.geom))
    WHERE x.deleted_at IS NULL AND ($2::int IS NULL OR x.year = $2) AND ($3::text IS NULL OR x.funding = $3)
    ORDER BY x.id, d.id
)
SELECT d.id, d.kind, d.number, d.name, d.population,
       count(b.district_id) AS projects,
       coalesce(sum(b.planned_uah), 0) AS planned_uah,
       coalesce(sum(b.contracted_uah), 0) AS contracted_uah,
       coalesce(sum(b.paid_uah), 0) AS paid_uah,
       CASE WHEN d.population > 0 THEN round(coalesce(sum(b.paid_uah), 0) / d.population, 2) END AS paid_uah_per_resident,
       d.geom
FROM d LEFT JOIN b ON b.district_id = d.id
GROUP BY d.id, d.kind, d.number, d.name, d.population, d.geom
ORDER BY d.number NULLS LAST, d.id
