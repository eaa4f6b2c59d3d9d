SELECT d.id AS district_id, coalesce(c.n, 0) AS value
FROM d LEFT JOIN (
    SELECT pl.district_id, count(*) AS n
    FROM investment_sites i JOIN pl ON pl.tbl = 'investment_sites' AND pl.id = i.id
    WHERE i.deleted_at IS NULL AND i.status = 'available' GROUP BY 1
) c ON c.district_id = d.id
