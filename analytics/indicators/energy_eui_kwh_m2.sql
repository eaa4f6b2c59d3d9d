-- area-weighted mean energy use intensity of municipal buildings (analytics_energy)
SELECT d.id AS district_id,
       sum(e.eui_kwh_m2_year * e.heated_area_m2) / nullif(sum(e.heated_area_m2), 0) AS value
FROM d
JOIN energy_objects o ON o.deleted_at IS NULL AND ST_Intersects(d.geom, ST_PointOnSurface(o.geom))
JOIN analytics_energy(NULL, NULL) e ON e.object_id = o.id
GROUP BY d.id
