SELECT d.id AS district_id, coalesce(c.n, 0) AS value
FROM d LEFT JOIN (
    SELECT pl.district_id, count(*) AS n
    FROM ad_structures s JOIN pl ON pl.tbl = 'ad_structures' AND pl.id = s.id
    WHERE s.deleted_at IS NULL AND analytics_ad_without_permit(s.status, s.permit_number) GROUP BY 1
) c ON c.district_id = d.id
