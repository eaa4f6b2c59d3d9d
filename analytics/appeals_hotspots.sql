-- $1 eps (m), $2 min_points, $3 from, $4 to, $5 category.
-- Clustered in Web Mercator (by its formula: faster than ST_Transform per
-- point) with eps scaled by 1/cos(latitude) of the appeals' centre.
WITH a AS MATERIALIZED (
    SELECT category, geom FROM analytics_appeals('electoral', $3, $4, $5)
), s AS (
    SELECT $1::float8 / cos(radians(ST_Y(ST_Centroid(ST_Extent(a.geom)::geometry)))) AS eps FROM a
), c AS MATERIALIZED (
    SELECT a.category, a.geom,
           ST_ClusterDBSCAN(ST_MakePoint(6378137.0 * radians(ST_X(a.geom)),
                                         6378137.0 * ln(tan(pi() / 4 + radians(ST_Y(a.geom)) / 2))),
                            eps => s.eps, minpoints => $2::int) OVER () AS cid
    FROM a, s
), g AS MATERIALIZED (
    SELECT cid, count(*) AS appeals, ST_Centroid(ST_Collect(geom)) AS centre,
           mode() WITHIN GROUP (ORDER BY category) AS top_category
    FROM c WHERE cid IS NOT NULL GROUP BY cid
), r AS (
    SELECT c.cid, max(ST_Distance(c.geom::geography, g.centre::geography)) AS radius
    FROM c JOIN g ON g.cid = c.cid GROUP BY c.cid
)
SELECT row_number() OVER (ORDER BY g.appeals DESC, ST_X(g.centre), ST_Y(g.centre)) AS id,
       g.appeals, g.top_category,
       round(ST_Y(g.centre)::numeric, 5) AS lat, round(ST_X(g.centre)::numeric, 5) AS lon,
       round(r.radius::numeric, 1) AS radius_m,
       g.centre AS geom
FROM g JOIN r ON r.cid = g.cid
ORDER BY g.appeals DESC, ST_X(g.centre), ST_Y(g.centre)
