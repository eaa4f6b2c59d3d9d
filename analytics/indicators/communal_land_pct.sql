-- share of the district's area in communal plots (d_plots: plots by their point on surface)
SELECT d.id AS district_id,
       100.0 * (SELECT coalesce(sum(p.m2), 0) FROM d_plots p WHERE p.district_id = d.id AND p.ownership = 'communal')
       / nullif(d.area_km2 * 1e6, 0) AS value
FROM d
