SELECT d.id AS district_id,
       CASE WHEN d.population > 0 THEN
           (SELECT count(*) FROM temporary_structures t WHERE t.deleted_at IS NULL AND t.status IN ('installed', 'unauthorized')
              AND ST_Intersects(d.geom, ST_PointOnSurface(t.geom))) * 1000.0 / d.population
       END AS value
FROM d
