-- arrears of every lease of communal property in the district, all time
WITH l AS (
    SELECT le.id, le.property_id,
           coalesce((SELECT sum(amount_uah) FROM accruals a WHERE a.lease_id = le.id AND a.deleted_at IS NULL), 0)
         - coalesce((SELECT sum(amount_uah) FROM payments p WHERE p.lease_id = le.id AND p.deleted_at IS NULL), 0) AS owed
    FROM leases le WHERE le.deleted_at IS NULL
)
SELECT d.id AS district_id, coalesce(sum(greatest(l.owed, 0)), 0) AS value
FROM d
LEFT JOIN communal_property p ON p.deleted_at IS NULL AND ST_Intersects(d.geom, ST_PointOnSurface(p.geom))
LEFT JOIN l ON l.property_id = p.id
GROUP BY d.id
