-- $1 group_by, $2 from, $3 to. Accruals count by their month, payments by
-- their date; arrears = accrued − paid per lease, never below zero.
WITH p AS MATERIALIZED (
    SELECT cp.id, cp.area_m2, cp.use_status, cp.balance_holder_name,
           (SELECT ad.name FROM admin_districts ad WHERE ad.id = analytics_admin_district(ST_PointOnSurface(cp.geom))) AS zone
    FROM communal_property cp WHERE cp.deleted_at IS NULL
), acc AS (
    SELECT lease_id, sum(amount_uah) AS s FROM accruals
    WHERE deleted_at IS NULL AND lease_id IS NOT NULL
      AND ($2::date IS NULL OR period >= date_trunc('month', $2::date)) AND ($3::date IS NULL OR period <= $3::date)
    GROUP BY lease_id
), pay AS (
    SELECT lease_id, sum(amount_uah) AS s FROM payments
    WHERE deleted_at IS NULL AND lease_id IS NOT NULL
      AND ($2::date IS NULL OR paid_on >= $2::date) AND ($3::date IS NULL OR paid_on <= $3::date)
    GROUP BY lease_id
), l AS MATERIALIZED (
    SELECT le.property_id, le.tenant_category, le.leased_area_m2,
           (le.start_date <= coalesce($3::date, current_date) AND le.end_date >= coalesce($2::date, current_date)) AS active,
           coalesce(acc.s, 0) AS accrued, coalesce(pay.s, 0) AS paid
    FROM leases le LEFT JOIN acc ON acc.lease_id = le.id LEFT JOIN pay ON pay.lease_id = le.id
    WHERE le.deleted_at IS NULL
), g AS (
    -- one row per (group, property) for areas; leases carry the money
    SELECT CASE $1 WHEN 'zone' THEN coalesce(p.zone, '—') WHEN 'tenant_category' THEN l.tenant_category
                   ELSE p.balance_holder_name END AS grp,
           p.id AS property_id, p.area_m2, p.use_status, l.leased_area_m2, l.active, l.accrued, l.paid
    FROM p LEFT JOIN l ON l.property_id = p.id
    WHERE $1 <> 'tenant_category' OR l.property_id IS NOT NULL
)
SELECT grp AS "group",
       count(DISTINCT property_id) AS objects,
       (SELECT coalesce(sum(p2.area_m2), 0) FROM p p2 WHERE p2.id IN (SELECT g2.property_id FROM g g2 WHERE g2.grp = g.grp)) AS area_m2,
       coalesce(sum(leased_area_m2) FILTER (WHERE active), 0) AS leased_area_m2,
       count(DISTINCT property_id) FILTER (WHERE use_status = 'leased') AS leased_objects,
       count(DISTINCT property_id) FILTER (WHERE use_status = 'vacant') AS vacant_objects,
       round(100.0 * count(DISTINCT property_id) FILTER (WHERE use_status = 'leased')
             / nullif(count(DISTINCT property_id), 0), 1) AS leased_pct,
       coalesce(sum(accrued), 0) AS accrued_uah,
       coalesce(sum(paid), 0) AS paid_uah,
       round(100.0 * sum(paid) / nullif(sum(accrued), 0), 1) AS plan_fulfilment_pct,
       coalesce(sum(greatest(accrued - paid, 0)), 0) AS arrears_uah
FROM g
GROUP BY grp
ORDER BY grp
