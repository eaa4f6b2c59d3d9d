-- area-weighted mean energy use intensity of municipal buildings (analytics_energy)
WITH e AS MATERIALIZED (SELECT * FROM analytics_energy(NULL, NULL))
SELECT pl.district_id,
       sum(e.eui_kwh_m2_year * e.heated_area_m2) / nullif(sum(e.heated_area_m2), 0) AS value
FROM e
JOIN energy_objects o ON o.id = e.object_id AND o.deleted_at IS NULL
JOIN pl ON pl.tbl = 'energy_objects' AND pl.id = o.id
GROUP BY pl.district_id
