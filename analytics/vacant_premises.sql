-- $1 min_area_m2, $2 max_area_m2, $3 kind, $4 admin_district_id.
WITH p AS (
    SELECT cp.*, analytics_admin_district(ST_PointOnSurface(cp.geom)) AS admin_district_id
    FROM communal_property cp
    WHERE cp.deleted_at IS NULL AND cp.use_status = 'vacant'
      AND ($1::float8 IS NULL OR cp.area_m2 >= $1)
      AND ($2::float8 IS NULL OR cp.area_m2 <= $2)
      AND ($3::text IS NULL OR cp.kind = $3)
)
SELECT p.id, p.inventory_number, p.name, p.kind, p.address, p.area_m2, p.floors, p.year_built,
       p.balance_holder_name, p.balance_holder_edrpou, p.use_status, p.condition,
       p.admin_district_id, ad.name AS admin_district, p.geom
FROM p LEFT JOIN admin_districts ad ON ad.id = p.admin_district_id
WHERE $4::bigint IS NULL OR p.admin_district_id = $4
ORDER BY p.area_m2 DESC NULLS LAST, p.id
