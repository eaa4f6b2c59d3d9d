-- A plot counts in the zone that holds its point on surface (one zone per
-- plot, the lowest zone number on a border); its area is the computed one
-- (a spherical estimate, within 1 % of the geodesic area at city scale).
WITH z AS MATERIALIZED (
    SELECT id, zone_number, base_value_uah_m2, geom FROM price_zones WHERE deleted_at IS NULL
), zs AS MATERIALIZED (
    -- small pieces of the zones (kept by migration 0040): point-in-polygon
    -- on them, through the plots' spatial index, is far cheaper
    SELECT z.id, z.zone_number, p.g FROM z JOIN analytics_pieces p ON p.layer = 'price_zones' AND p.id = z.id
), inz AS (
    SELECT DISTINCT ON (p.id) zs.id AS zone_id, p.id, p.ownership, p.normative_value_uah, p.annual_rent_uah,
           ST_Area(p.geom) * (6371008.8 * pi() / 180) ^ 2 * cos(radians(ST_Y(ST_PointOnSurface(p.geom)))) AS m2
    FROM zs JOIN land_plots p ON p.deleted_at IS NULL AND p.geom && zs.g
        AND ST_Intersects(zs.g, ST_PointOnSurface(p.geom))
    ORDER BY p.id, zs.zone_number
)
SELECT z.id, z.zone_number, z.base_value_uah_m2,
       count(inz.id) AS plots,
       round((coalesce(sum(inz.m2), 0) / 10000)::numeric, 4) AS area_ha,
       round((coalesce(sum(inz.m2) FILTER (WHERE inz.ownership = 'communal'), 0) / 10000)::numeric, 4) AS communal_ha,
       round((coalesce(sum(inz.m2) FILTER (WHERE inz.ownership = 'state'), 0) / 10000)::numeric, 4) AS state_ha,
       round((coalesce(sum(inz.m2) FILTER (WHERE inz.ownership = 'private'), 0) / 10000)::numeric, 4) AS private_ha,
       round((coalesce(sum(inz.m2) FILTER (WHERE inz.ownership = 'unknown'), 0) / 10000)::numeric, 4) AS unknown_ha,
       coalesce(sum(inz.normative_value_uah), 0) AS normative_value_uah,
       coalesce(sum(inz.annual_rent_uah), 0) AS annual_rent_uah,
       z.geom
FROM z LEFT JOIN inz ON inz.zone_id = z.id
GROUP BY z.id, z.zone_number, z.base_value_uah_m2, z.geom
ORDER BY z.zone_number
