-- $1 min_area_ha, $2 max_area_ha, $3 site_type, $4 gas, $5 water, $6 sewer, $7 heating,
-- $8 min_power_kw, $9 max_road_m, $10 max_rail_m, $11 admin_district_id, $12 lon, $13 lat,
-- $14 status, $15 limit. A true utility filter requires it; false or absent does not filter.
WITH s AS (
    SELECT i.*,
           (SELECT round(ST_Distance(i.geom::geography, st.geom::geography)::numeric, 1) FROM streets st
             WHERE st.deleted_at IS NULL AND st.class IN ('primary', 'secondary')
             ORDER BY st.geom <-> i.geom LIMIT 1) AS road_m,
           (SELECT round(ST_Distance(i.geom::geography, st.geom::geography)::numeric, 1) FROM streets st
             WHERE st.deleted_at IS NULL AND st.class = 'rail'
             ORDER BY st.geom <-> i.geom LIMIT 1) AS rail_m,
           CASE WHEN $12::float8 IS NOT NULL AND $13::float8 IS NOT NULL THEN
               round(ST_Distance(i.geom::geography, ST_SetSRID(ST_MakePoint($12, $13), 4326)::geography)::numeric, 1)
           END AS distance_m,
           analytics_admin_district(ST_PointOnSurface(i.geom)) AS admin_district_id
    FROM investment_sites i
    WHERE i.deleted_at IS NULL
      AND ($1::float8 IS NULL OR i.area_ha >= $1)
      AND ($2::float8 IS NULL OR i.area_ha <= $2)
      AND ($3::text IS NULL OR i.site_type = $3)
      AND (NOT coalesce($4, false) OR i.gas)
      AND (NOT coalesce($5, false) OR i.water)
      AND (NOT coalesce($6, false) OR i.sewer)
      AND (NOT coalesce($7, false) OR i.heating)
      AND ($8::float8 IS NULL OR i.power_kw >= $8)
      AND ($14::text IS NULL OR i.status = $14)
)
SELECT s.id, s.title_uk, s.title_en, s.site_type, s.area_ha, s.cadastral_number, s.ownership, s.purpose_code,
       s.zoning, s.power_kw, s.gas, s.water, s.sewer, s.heating, s.offer_type, s.price_uah, s.prozorro_sale_id,
       s.contact, s.status, s.road_m, s.rail_m, s.distance_m, s.admin_district_id, s.geom
FROM s
WHERE ($9::float8 IS NULL OR s.road_m <= $9)
  AND ($10::float8 IS NULL OR s.rail_m <= $10)
  AND ($11::bigint IS NULL OR s.admin_district_id = $11)
ORDER BY s.distance_m NULLS LAST, s.id
LIMIT $15
