-- $1 eps (m), $2 min_points, $3 from, $4 to, $5 category.
-- The points to cluster: DBSCAN itself runs in the server (`[dbscan]` in
-- appeals_hotspots.toml, src/analytics/dbscan.rs), which answers only each
-- cluster's centre, radius, size and most common category.
SELECT ST_X(geom) AS x, ST_Y(geom) AS y, category AS label
FROM analytics_appeals('electoral', $3, $4, $5)
