SELECT d.id AS district_id,
       (SELECT count(*) FROM investment_sites i WHERE i.deleted_at IS NULL AND i.status = 'available'
          AND ST_Intersects(d.geom, ST_PointOnSurface(i.geom))) AS value
FROM d
