SELECT d.id AS district_id,
       CASE WHEN d.population > 0 THEN coalesce(c.paid, 0) / d.population END AS value
FROM d LEFT JOIN (
    SELECT pl.district_id, sum(b.paid_uah) AS paid
    FROM budget_projects b JOIN pl ON pl.tbl = 'budget_projects' AND pl.id = b.id
    WHERE b.deleted_at IS NULL GROUP BY 1
) c ON c.district_id = d.id
