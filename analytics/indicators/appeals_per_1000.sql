SELECT d.id AS district_id,
       CASE WHEN d.population > 0 THEN coalesce(c.n, 0) * 1000.0 / d.population END AS value
FROM d LEFT JOIN (SELECT district_id, count(*) AS n FROM ap GROUP BY 1) c ON c.district_id = d.id
