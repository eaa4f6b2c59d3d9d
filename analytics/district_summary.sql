-- $1 district_id, $2 from, $3 to, $4 ad_distance (m), $5 outlier_ratio.
WITH d AS MATERIALIZED (
    SELECT e.id, e.number, e.name, e.population, e.voters, e.geom
    FROM electoral_districts e WHERE e.deleted_at IS NULL AND e.id = $1
),
a AS MATERIALIZED (
    SELECT x.* FROM analytics_appeals('electoral', $2, $3, NULL) x WHERE x.district_id = $1
),
appeals AS (
    SELECT jsonb_build_object(
        'total', (SELECT count(*) FROM a),
        'by_status', coalesce((SELECT jsonb_object_agg(status, n ORDER BY status)
                               FROM (SELECT status, count(*) AS n FROM a GROUP BY 1) s), '{}'),
        'by_category', coalesce((SELECT jsonb_object_agg(category, n ORDER BY category)
                                 FROM (SELECT category, count(*) AS n FROM a GROUP BY 1) s), '{}'),
        'on_time_pct', (SELECT round(100.0 * count(*) FILTER (WHERE analytics_appeal_on_time(resolved_at, due_at))
                          / nullif(count(*) FILTER (WHERE due_at IS NOT NULL AND (resolved_at IS NOT NULL OR due_at < now())), 0), 1)
                        FROM a),
        'median_days', (SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY
                          extract(epoch FROM resolved_at - coalesce(registered_at, created_at)) / 86400.0))::numeric, 1)
                        FROM a),
        'overdue', (SELECT count(*) FILTER (WHERE analytics_appeal_overdue(status, resolved_at, due_at)) FROM a)
    ) AS v
),
p AS MATERIALIZED (
    SELECT cp.* FROM communal_property cp, d
    WHERE cp.deleted_at IS NULL AND ST_Intersects(d.geom, ST_PointOnSurface(cp.geom))
),
l AS MATERIALIZED (
    SELECT le.id, le.leased_area_m2,
           (SELECT coalesce(sum(ac.amount_uah), 0) FROM accruals ac WHERE ac.lease_id = le.id AND ac.deleted_at IS NULL
              AND ($2::date IS NULL OR ac.period >= date_trunc('month', $2::date))
              AND ($3::date IS NULL OR ac.period <= $3::date)) AS accrued,
           (SELECT coalesce(sum(pa.amount_uah), 0) FROM payments pa WHERE pa.lease_id = le.id AND pa.deleted_at IS NULL
              AND ($2::date IS NULL OR pa.paid_on >= $2::date)
              AND ($3::date IS NULL OR pa.paid_on <= $3::date)) AS paid
    FROM leases le JOIN p ON p.id = le.property_id WHERE le.deleted_at IS NULL
),
property AS (
    SELECT jsonb_build_object(
        'count', (SELECT count(*) FROM p),
        'area_m2', (SELECT coalesce(sum(area_m2), 0) FROM p),
        'by_use_status', coalesce((SELECT jsonb_object_agg(use_status, n ORDER BY use_status)
                                   FROM (SELECT use_status, count(*) AS n FROM p GROUP BY 1) s), '{}'),
        'leased', (SELECT count(*) FROM p WHERE use_status = 'leased'),
        'vacant', (SELECT count(*) FROM p WHERE use_status = 'vacant'),
        'vacant_area_m2', (SELECT coalesce(sum(area_m2), 0) FROM p WHERE use_status = 'vacant'),
        'leases', (SELECT count(*) FROM l),
        'accrued_uah', (SELECT coalesce(sum(accrued), 0) FROM l),
        'paid_uah', (SELECT coalesce(sum(paid), 0) FROM l),
        'arrears_uah', (SELECT coalesce(sum(greatest(accrued - paid, 0)), 0) FROM l)
    ) AS v
),
lp AS MATERIALIZED (
    SELECT lp.ownership, coalesce(lp.purpose_code, 'unknown') AS purpose_code,
           CASE WHEN ST_CoveredBy(lp.geom, d.geom) THEN ST_Area(lp.geom::geography)
                ELSE ST_Area(ST_Intersection(lp.geom, d.geom)::geography) END AS m2
    FROM land_plots lp, d
    WHERE lp.deleted_at IS NULL AND ST_Intersects(lp.geom, d.geom)
),
land AS (
    SELECT jsonb_build_object(
        'plots', (SELECT count(*) FROM lp WHERE m2 > 0),
        'area_ha', (SELECT round(coalesce(sum(m2), 0)::numeric / 10000, 4) FROM lp),
        'by_ownership_ha', coalesce((SELECT jsonb_object_agg(ownership, ha ORDER BY ownership)
                                     FROM (SELECT ownership, round(sum(m2)::numeric / 10000, 4) AS ha FROM lp GROUP BY 1) s), '{}'),
        'by_purpose_ha', coalesce((SELECT jsonb_object_agg(purpose_code, ha ORDER BY purpose_code)
                                   FROM (SELECT purpose_code, round(sum(m2)::numeric / 10000, 4) AS ha FROM lp GROUP BY 1) s), '{}')
    ) AS v
),
en AS MATERIALIZED (
    SELECT x.* FROM analytics_energy(NULL, NULL) x
    JOIN energy_objects eo ON eo.id = x.object_id, d
    WHERE ST_Intersects(d.geom, ST_PointOnSurface(eo.geom))
),
energy AS (
    SELECT jsonb_build_object(
        'objects', (SELECT count(*) FROM energy_objects eo, d
                    WHERE eo.deleted_at IS NULL AND ST_Intersects(d.geom, ST_PointOnSurface(eo.geom))),
        'with_readings', (SELECT count(*) FROM en),
        'heated_area_m2', (SELECT coalesce(sum(heated_area_m2), 0) FROM en),
        'mean_eui_kwh_m2_year', (SELECT round(sum(eui_kwh_m2_year * heated_area_m2) / nullif(sum(heated_area_m2), 0), 2) FROM en),
        'outliers', (SELECT count(*) FROM en WHERE ratio_to_median >= $5)
    ) AS v
),
ad AS MATERIALIZED (
    SELECT s.* FROM ad_structures s, d WHERE s.deleted_at IS NULL AND ST_Intersects(d.geom, s.geom)
),
ads AS (
    SELECT jsonb_build_object(
        'count', (SELECT count(*) FROM ad),
        'by_status', coalesce((SELECT jsonb_object_agg(status, n ORDER BY status)
                               FROM (SELECT status, count(*) AS n FROM ad GROUP BY 1) s), '{}'),
        'expired_standing', (SELECT count(*) FROM ad WHERE analytics_ad_expired_standing(ad.status, ad.valid_to)),
        'without_permit', (SELECT count(*) FROM ad WHERE analytics_ad_without_permit(ad.status, ad.permit_number)),
        'too_close', (SELECT count(DISTINCT x.id) FROM ad x JOIN ad_structures y
                        ON y.deleted_at IS NULL AND y.id <> x.id AND y.type = x.type
                       AND analytics_ad_standing(y.status)
                       AND ST_DWithin(x.geom::geography, y.geom::geography, $4)
                      WHERE analytics_ad_standing(x.status))
    ) AS v
),
ts AS (
    SELECT jsonb_build_object(
        'count', coalesce(sum(t.n), 0),
        'by_status', coalesce(jsonb_object_agg(t.status, t.n ORDER BY t.status) FILTER (WHERE t.status IS NOT NULL), '{}'),
        'area_m2', coalesce(sum(t.area), 0)
    ) AS v
    FROM (SELECT x.status, count(*) AS n, sum(x.area_m2) AS area FROM temporary_structures x, d
          WHERE x.deleted_at IS NULL AND ST_Intersects(d.geom, ST_PointOnSurface(x.geom)) GROUP BY 1) t
),
inv AS (
    SELECT jsonb_build_object(
        'count', coalesce(sum(t.n), 0),
        'available', coalesce(sum(t.n) FILTER (WHERE t.status = 'available'), 0),
        'area_ha', coalesce(sum(t.area), 0)
    ) AS v
    FROM (SELECT x.status, count(*) AS n, sum(x.area_ha) AS area FROM investment_sites x, d
          WHERE x.deleted_at IS NULL AND ST_Intersects(d.geom, ST_PointOnSurface(x.geom)) GROUP BY 1) t
),
budget AS (
    SELECT jsonb_build_object(
        'projects', count(*),
        'planned_uah', coalesce(sum(x.planned_uah), 0),
        'contracted_uah', coalesce(sum(x.contracted_uah), 0),
        'paid_uah', coalesce(sum(x.paid_uah), 0)
    ) AS v
    FROM budget_projects x, d
    WHERE x.deleted_at IS NULL AND ST_Intersects(d.geom, ST_PointOnSurface(x.geom))
)
SELECT d.id, d.number, d.name, d.population, d.voters,
       appeals.v AS appeals, property.v AS property, land.v AS land, energy.v AS energy, ads.v AS ads,
       ts.v AS temporary_structures, inv.v AS investment_sites, budget.v AS budget,
       d.geom
FROM d, appeals, property, land, energy, ads, ts, inv, budget
