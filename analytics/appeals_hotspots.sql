-- $1 eps (m), $2 min_points, $3 from, $4 to, $5 category.
-- Clustered in Web Mercator (by its formula: faster than ST_Transform per
-- point) with eps scaled by 1/cos(latitude) of the appeals' centre.
-- Points travel as x, y (appeals are geometry(Point, 4326)): narrower rows
-- to sort and spill than geometries, and no PostGIS call per row after the
-- clustering.
WITH a AS MATERIALIZED (
    SELECT category, ST_X(geom) AS x, ST_Y(geom) AS y
    FROM analytics_appeals('electoral', $3, $4, $5)
), s AS (
    -- the centre of the extent from min/max: the same box as ST_Extent,
    -- bit for bit (points' boxes are their coordinates)
    SELECT $1::float8 / cos(radians(ST_Y(ST_Centroid(
               ST_MakeBox2D(ST_MakePoint(min(a.x), min(a.y)), ST_MakePoint(max(a.x), max(a.y)))::geometry))))
               AS eps
    FROM a
), c AS MATERIALIZED (
    SELECT a.category, a.x, a.y,
           ST_ClusterDBSCAN(ST_MakePoint(6378137.0 * radians(a.x),
                                         6378137.0 * ln(tan(pi() / 4 + radians(a.y) / 2))),
                            eps => s.eps, minpoints => $2::int) OVER () AS cid
    FROM a, s
), g AS MATERIALIZED (
    -- the centroid of a multipoint is the mean of its coordinates
    SELECT cid, count(*) AS appeals, avg(x) AS cx, avg(y) AS cy,
           mode() WITHIN GROUP (ORDER BY category) AS top_category
    FROM c WHERE cid IS NOT NULL GROUP BY cid
), m AS MATERIALIZED (
    -- squared distance to the centre in a local plane (degrees, longitude
    -- scaled by cos(latitude)): within a few per cent of the geodesic one,
    -- enough to pick the members that can be the farthest
    SELECT c.cid, c.x, c.y, g.cx, g.cy,
           (c.x - g.cx) ^ 2 * cos(radians(g.cy)) ^ 2 + (c.y - g.cy) ^ 2 AS d2
    FROM c JOIN g ON g.cid = c.cid
), r AS (
    -- the geodesic distance only for members within 10 % of the farthest by
    -- the plane: the same maximum as over every member
    SELECT m.cid, max(ST_Distance(ST_SetSRID(ST_MakePoint(m.x, m.y), 4326)::geography,
                                  ST_SetSRID(ST_MakePoint(m.cx, m.cy), 4326)::geography)) AS radius
    FROM m JOIN (SELECT cid, max(d2) AS d2max FROM m GROUP BY cid) f ON f.cid = m.cid
    WHERE m.d2 >= 0.81 * f.d2max
    GROUP BY m.cid
)
SELECT row_number() OVER (ORDER BY g.appeals DESC, g.cx, g.cy) AS id,
       g.appeals, g.top_category,
       round(g.cy::numeric, 5) AS lat, round(g.cx::numeric, 5) AS lon,
       round(r.radius::numeric, 1) AS radius_m,
       ST_SetSRID(ST_MakePoint(g.cx, g.cy), 4326) AS geom
FROM g JOIN r ON r.cid = g.cid
ORDER BY g.appeals DESC, g.cx, g.cy
