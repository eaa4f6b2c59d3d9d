SELECT d.id AS district_id, coalesce(c.ha, 0) AS value
FROM d LEFT JOIN (
    SELECT p.district_id, sum(p.area_ha) AS ha FROM d_plots p
    WHERE p.use_status IN ('free', 'offered_for_building') GROUP BY 1
) c ON c.district_id = d.id
