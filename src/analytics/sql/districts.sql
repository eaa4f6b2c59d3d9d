-- The districts of one kind ($1: 'electoral' or 'admin') and the appeals
-- counted in them ($2, $3: period, Kyiv dates, inclusive). Every indicator
-- reads `d` (id, kind, number, name, population, area_km2, geom) and `ap`
-- (live appeals except spam, with their `district_id`; see
-- analytics_appeals() in migration 0040 for the rules).
d AS MATERIALIZED (
    SELECT * FROM analytics_districts($1::text)
),
ap AS MATERIALIZED (
    SELECT * FROM analytics_appeals($1::text, $2::date, $3::date, NULL)
)
,
-- Small pieces of the districts: point-in-polygon on them, through the
-- layers' spatial indexes, is far cheaper than on whole districts.
dp AS MATERIALIZED (
    SELECT d.id, p.g FROM d
    JOIN analytics_pieces p ON p.id = d.id
     AND p.layer = CASE d.kind WHEN 'electoral' THEN 'electoral_districts' ELSE 'admin_districts' END
),
-- Live land plots with the district holding their point on surface (the
-- lowest id on a border) and their area (a spherical estimate, within 1 %
-- of the geodesic area at city scale). Computed only when an indicator
-- reads it.
d_plots AS MATERIALIZED (
    SELECT DISTINCT ON (p.id) dp.id AS district_id, p.id, p.ownership, p.use_status, p.area_ha,
           ST_Area(p.geom) * (6371008.8 * pi() / 180) ^ 2 * cos(radians(ST_Y(ST_PointOnSurface(p.geom)))) AS m2
    FROM dp JOIN land_plots p ON p.deleted_at IS NULL AND p.geom && dp.g
        AND ST_Intersects(dp.g, ST_PointOnSurface(p.geom))
    ORDER BY p.id, dp.id
)
