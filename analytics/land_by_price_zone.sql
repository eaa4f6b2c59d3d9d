-- A plot counts in the zone that holds its point on surface (one zone per
-- plot, the lowest zone number on a border); its area is the computed one
-- (a spherical estimate, within 1 % of the geodesic area at city scale).
-- Both are kept per plot in analytics_places by triggers (migration 0080).
WITH z AS MATERIALIZED (
    SELECT id, zone_number, base_value_uah_m2, geom FROM price_zones WHERE deleted_at IS NULL
), inz AS (
    SELECT pl.zone_id, count(*) AS plots,
           sum(pl.m2) AS m2,
           sum(pl.m2) FILTER (WHERE p.ownership = 'communal') AS communal,
           sum(pl.m2) FILTER (WHERE p.ownership = 'state') AS state,
           sum(pl.m2) FILTER (WHERE p.ownership = 'private') AS private,
           sum(pl.m2) FILTER (WHERE p.ownership = 'unknown') AS unknown,
           sum(p.normative_value_uah) AS normative_value_uah,
           sum(p.annual_rent_uah) AS annual_rent_uah
    FROM land_plots p JOIN analytics_places pl ON pl.tbl = 'land_plots' AND pl.id = p.id
    WHERE p.deleted_at IS NULL AND pl.zone_id IS NOT NULL
    GROUP BY pl.zone_id
)
SELECT z.id, z.zone_number, z.base_value_uah_m2,
       coalesce(inz.plots, 0) AS plots,
       round((coalesce(inz.m2, 0) / 10000)::numeric, 4) AS area_ha,
       round((coalesce(inz.communal, 0) / 10000)::numeric, 4) AS communal_ha,
       round((coalesce(inz.state, 0) / 10000)::numeric, 4) AS state_ha,
       round((coalesce(inz.private, 0) / 10000)::numeric, 4) AS private_ha,
       round((coalesce(inz.unknown, 0) / 10000)::numeric, 4) AS unknown_ha,
       coalesce(inz.normative_value_uah, 0) AS normative_value_uah,
       coalesce(inz.annual_rent_uah, 0) AS annual_rent_uah,
       z.geom
FROM z LEFT JOIN inz ON inz.zone_id = z.id
ORDER BY z.zone_number
