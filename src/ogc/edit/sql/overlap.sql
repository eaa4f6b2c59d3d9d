-- Live land plots (other than $2) that a new plot geometry ($1, hex EWKB)
-- overlaps by more than $3 square metres.
SELECT p.id
FROM land_plots p, (SELECT ST_GeomFromEWKB(decode($1, 'hex')) AS g) n
WHERE p.deleted_at IS NULL
  AND p.id IS DISTINCT FROM $2
  AND ST_Intersects(p.geom, n.g)
  AND ST_Area(ST_Intersection(p.geom, n.g)::geography) > $3
ORDER BY p.id
LIMIT 50
