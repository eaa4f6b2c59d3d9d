-- A GeoJSON geometry in the input CRS ($2 SRID, $3 north-first axis order)
-- to hex EWKB in EPSG:4326 (east-first), reprojected by PostGIS (PROJ).
SELECT encode(ST_AsEWKB(ST_Transform(CASE WHEN $3 THEN ST_FlipCoordinates(g) ELSE g END, 4326)), 'hex')
FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON($1), $2) AS g) s
