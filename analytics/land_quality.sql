-- $1 issue, $2 sliver_m2, $3 gap_m (below 1 m), $4 tolerance_pct, $5 koatuu.
-- Pairs are listed once (lower id first); geometry is the overlap, the
-- gap's shortest line, or the plot.
WITH lp AS MATERIALIZED (
    SELECT id, cadastral_number, area_ha, geom,
           ST_Area(geom) * (6371008.8 * pi() / 180) ^ 2 * cos(radians(ST_Y(ST_Centroid(geom)))) / 10000 AS approx_ha
    FROM land_plots WHERE deleted_at IS NULL
), ov AS (
    -- overlaps and gaps are kept current in analytics_land_pairs (migration 0040)
    SELECT a_id AS id, b_id AS other_id, geom AS g, area_m2 AS m2 FROM analytics_land_pairs
    WHERE issue = 'overlap' AND ($1::text IS NULL OR $1 IN ('overlap', 'sliver'))
), gaps AS (
    SELECT a_id AS id, b_id AS other_id, geom AS g, gap_m AS m FROM analytics_land_pairs
    WHERE issue = 'gap' AND ($1::text IS NULL OR $1 = 'gap') AND $3 > 0
), issues AS (
    SELECT CASE WHEN m2 < $2 THEN 'sliver' ELSE 'overlap' END AS issue, id, other_id,
           round(m2::numeric, 2) AS area_m2, NULL::numeric AS computed_ha, NULL::numeric AS difference_pct,
           NULL::numeric AS gap_m, g AS geom
    FROM ov
    UNION ALL
    SELECT 'gap', id, other_id, NULL, NULL, NULL, round(m::numeric, 3), g FROM gaps WHERE m > 0 AND m < $3
    UNION ALL
    SELECT 'no_cadastral_number', id, NULL, NULL, NULL, NULL, NULL, geom FROM lp
    WHERE (cadastral_number IS NULL OR cadastral_number = '') AND ($1::text IS NULL OR $1 = 'no_cadastral_number')
    UNION ALL
    SELECT 'area_mismatch', id, NULL, NULL, round(c.ha::numeric, 4),
           round((100 * (lp.area_ha - c.ha) / nullif(c.ha, 0))::numeric, 2), NULL, geom
    FROM lp, LATERAL (SELECT ST_Area(lp.geom::geography) / 10000 AS ha) c
    WHERE ($1::text IS NULL OR $1 = 'area_mismatch') AND abs(lp.area_ha - c.ha) > $4 / 100.0 * c.ha
      -- a fast spherical estimate first (within 1 % of the geodesic area at
      -- city scale); the geodesic area decides
      AND abs(lp.area_ha - lp.approx_ha) > ($4 - 1) / 100.0 * lp.approx_ha
    UNION ALL
    SELECT 'foreign_koatuu', id, NULL, NULL, NULL, NULL, NULL, geom FROM lp
    WHERE split_part(cadastral_number, ':', 1) <> $5 AND ($1::text IS NULL OR $1 = 'foreign_koatuu')
)
SELECT i.issue, i.id, i.other_id, i.area_m2, i.computed_ha, i.difference_pct, i.gap_m,
       p.cadastral_number, p.area_ha, p.purpose_code, p.ownership, p.use_status, i.geom
FROM issues i JOIN land_plots p ON p.id = i.id
WHERE $1::text IS NULL OR i.issue = $1
ORDER BY i.issue, i.id, i.other_id
