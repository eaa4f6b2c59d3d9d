-- Whether two geometries (hex EWKB) are the same shape, allowing for the
-- rounding of coordinates in GeoJSON output (1e-6° is about 0.1 m).
SELECT ST_Equals(a, b) OR ST_HausdorffDistance(a, b) < 1e-6
FROM (SELECT ST_GeomFromEWKB(decode($1, 'hex')) AS a, ST_GeomFromEWKB(decode($2, 'hex')) AS b) g
