SELECT d.id AS district_id,
       (SELECT coalesce(sum(p.area_ha), 0) FROM d_plots p
         WHERE p.district_id = d.id AND p.use_status IN ('free', 'offered_for_building')) AS value
FROM d
