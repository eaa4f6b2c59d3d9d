-- The districts of one kind ($1: 'electoral' or 'admin') and the appeals
-- counted in them ($2, $3: period, Kyiv dates, inclusive). Every indicator
-- reads `d` (id, kind, number, name, population, area_km2, geom), `ap`
-- (live appeals except spam, with their `district_id`; see
-- analytics_appeals() in migrations 0040 and 0080 for the rules), and may
-- read `pl` (the district of every feature) and `d_plots` (live plots).
d AS MATERIALIZED (
    SELECT * FROM analytics_districts($1::text)
),
ap AS MATERIALIZED (
    SELECT * FROM analytics_appeals($1::text, $2::date, $3::date, NULL)
)
,
-- Where each feature lies (analytics_places, kept by triggers, migration
-- 0080): the district of the requested kind holding a point on its surface
-- (the lowest id on a border) and its area in m². Indicators join it by
-- (tbl, id): `JOIN pl ON pl.tbl = 'communal_property' AND pl.id = p.id`.
pl AS NOT MATERIALIZED (
    SELECT x.tbl, x.id, CASE WHEN $1::text = 'electoral' THEN x.electoral_id ELSE x.admin_id END AS district_id, x.m2
    FROM analytics_places x
),
-- Live land plots with their district and computed area. Computed only
-- when an indicator reads it.
d_plots AS MATERIALIZED (
    SELECT pl.district_id, p.id, p.ownership, p.use_status, p.area_ha, pl.m2
    FROM land_plots p JOIN pl ON pl.tbl = 'land_plots' AND pl.id = p.id
    WHERE p.deleted_at IS NULL AND pl.district_id IS NOT NULL
)