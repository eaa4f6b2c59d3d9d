-- $1 from, $2 to, $3 kind, $4 outlier_ratio, $5 outliers_only.
-- outlier: 'high' when EUI >= ratio × median of the kind, 'low' when <= median / ratio.
WITH e AS MATERIALIZED (SELECT * FROM analytics_energy($1, $2))
SELECT o.id, o.name, o.kind, o.address, o.heated_area_m2, o.year_built, o.energy_class, o.balance_holder_name,
       (SELECT ad.name FROM admin_districts ad WHERE ad.id = analytics_admin_district(ST_PointOnSurface(o.geom))) AS admin_district,
       e.days, e.hdd, e.heat_kwh, e.gas_kwh, e.electricity_kwh, e.heating_kwh_m2_hdd, e.heating_normalised_kwh_m2,
       e.eui_kwh_m2_year, e.median_of_kind, e.ratio_to_median,
       CASE WHEN e.ratio_to_median >= $4 THEN 'high' WHEN e.ratio_to_median <= 1 / $4 THEN 'low' END AS outlier,
       rank() OVER (PARTITION BY o.kind ORDER BY e.eui_kwh_m2_year DESC) AS rank_in_kind,
       o.geom
FROM e JOIN energy_objects o ON o.id = e.object_id
WHERE o.deleted_at IS NULL
  AND ($3::text IS NULL OR o.kind = $3)
  AND (NOT $5 OR e.ratio_to_median >= $4 OR e.ratio_to_median <= 1 / $4)
ORDER BY e.eui_kwh_m2_year DESC, o.id
