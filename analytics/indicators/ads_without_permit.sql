SELECT d.id AS district_id,
       (SELECT count(*) FROM ad_structures s WHERE s.deleted_at IS NULL AND ST_Intersects(d.geom, s.geom)
          AND analytics_ad_without_permit(s.status, s.permit_number)) AS value
FROM d
