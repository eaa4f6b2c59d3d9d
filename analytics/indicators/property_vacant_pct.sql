SELECT d.id AS district_id,
       100.0 * count(p.id) FILTER (WHERE p.use_status = 'vacant') / nullif(count(p.id), 0) AS value
FROM d LEFT JOIN communal_property p ON p.deleted_at IS NULL AND ST_Intersects(d.geom, ST_PointOnSurface(p.geom))
GROUP BY d.id
