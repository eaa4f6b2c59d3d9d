-- share of the district's area in communal plots (d_plots: plots by their point on surface)
SELECT d.id AS district_id, 100.0 * coalesce(c.m2, 0) / nullif(d.area_km2 * 1e6, 0) AS value
FROM d LEFT JOIN (
    SELECT p.district_id, sum(p.m2) AS m2 FROM d_plots p WHERE p.ownership = 'communal' GROUP BY 1
) c ON c.district_id = d.id
