-- $1 distance (m), $2 violation kind.
WITH s AS MATERIALIZED (
    SELECT * FROM ad_structures WHERE deleted_at IS NULL AND analytics_ad_standing(status)
), v AS (
    SELECT 'too_close'::text AS violation, a.id, b.id AS other_id,
           round(ST_Distance(a.geom::geography, b.geom::geography)::numeric, 1) AS distance_m
    FROM s a JOIN s b ON b.type = a.type AND b.id <> a.id
        AND ST_DWithin(a.geom, b.geom, $1 / 60000.0)            -- index prefilter (degrees, generous)
        AND ST_DWithin(a.geom::geography, b.geom::geography, $1)
    WHERE $2::text IS NULL OR $2 = 'too_close'
    UNION ALL
    SELECT 'expired_standing', s.id, NULL, NULL FROM s
    WHERE analytics_ad_expired_standing(s.status, s.valid_to) AND ($2::text IS NULL OR $2 = 'expired_standing')
    UNION ALL
    SELECT 'without_permit', s.id, NULL, NULL FROM s
    WHERE analytics_ad_without_permit(s.status, s.permit_number) AND ($2::text IS NULL OR $2 = 'without_permit')
)
SELECT v.id, v.violation, v.other_id, v.distance_m,
       s.permit_number, s.distributor_name, s.type, s.status, s.valid_from, s.valid_to, s.address, s.geom
FROM v JOIN s ON s.id = v.id
ORDER BY v.violation, v.id, v.other_id
