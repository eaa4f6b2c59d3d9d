-- arrears of every lease of communal property in the district, all time
WITH acc AS (
    SELECT lease_id, sum(amount_uah) AS s FROM accruals WHERE deleted_at IS NULL GROUP BY 1
), pay AS (
    SELECT lease_id, sum(amount_uah) AS s FROM payments WHERE deleted_at IS NULL GROUP BY 1
), owed AS (
    SELECT pl.district_id, greatest(coalesce(acc.s, 0) - coalesce(pay.s, 0), 0) AS owed
    FROM leases le
    JOIN communal_property p ON p.id = le.property_id AND p.deleted_at IS NULL
    JOIN pl ON pl.tbl = 'communal_property' AND pl.id = p.id
    LEFT JOIN acc ON acc.lease_id = le.id
    LEFT JOIN pay ON pay.lease_id = le.id
    WHERE le.deleted_at IS NULL
)
SELECT d.id AS district_id, coalesce(sum(owed.owed), 0) AS value
FROM d LEFT JOIN owed ON owed.district_id = d.id
GROUP BY d.id
