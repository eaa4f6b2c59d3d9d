SELECT d.id AS district_id,
       CASE WHEN d.population > 0 THEN coalesce(c.n, 0) * 1000.0 / d.population END AS value
FROM d LEFT JOIN (
    SELECT pl.district_id, count(*) AS n
    FROM temporary_structures t JOIN pl ON pl.tbl = 'temporary_structures' AND pl.id = t.id
    WHERE t.deleted_at IS NULL AND t.status IN ('installed', 'unauthorized') GROUP BY 1
) c ON c.district_id = d.id
