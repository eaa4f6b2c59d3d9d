SELECT d.id AS district_id, coalesce(c.n, 0) AS value
FROM d LEFT JOIN (
    SELECT district_id, count(*) AS n FROM ap
    WHERE analytics_appeal_overdue(ap.status, ap.resolved_at, ap.due_at) GROUP BY 1
) c ON c.district_id = d.id
