SELECT d.id AS district_id, d.population / nullif(d.area_km2, 0) AS value FROM d
