SELECT d.id AS district_id, 100.0 * c.vacant / nullif(c.n, 0) AS value
FROM d LEFT JOIN (
    SELECT pl.district_id, count(*) AS n, count(*) FILTER (WHERE p.use_status = 'vacant') AS vacant
    FROM communal_property p JOIN pl ON pl.tbl = 'communal_property' AND pl.id = p.id
    WHERE p.deleted_at IS NULL GROUP BY 1
) c ON c.district_id = d.id
