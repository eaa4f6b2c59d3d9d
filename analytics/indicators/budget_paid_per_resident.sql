SELECT d.id AS district_id,
       CASE WHEN d.population > 0 THEN
           (SELECT coalesce(sum(b.paid_uah), 0) FROM budget_projects b WHERE b.deleted_at IS NULL
              AND ST_Intersects(d.geom, ST_PointOnSurface(b.geom))) / d.population
       END AS value
FROM d
