-- $1 size (edge, metres), $2 from, $3 to, $4 category.
-- Cells of ST_HexagonGrid's layout (flat-topped, Web Mercator, origin 0,0:
-- cell (i, j) is centred at 1.5·s·i, √3·s·(j + (i mod 2)/2)), so they stay
-- put between requests and tiles. Each appeal goes to exactly one cell,
-- found by axial-coordinate (cube) rounding; a point on an edge goes to one
-- of its two cells. Metres are scaled by 1/cos(latitude) at the centre of
-- the appeals, so an edge is $1 m on the ground there.
WITH a AS MATERIALIZED (
    SELECT geom FROM analytics_appeals('electoral', $2, $3, $4)
), s AS (
    SELECT $1::float8 / cos(radians(ST_Y(ST_Centroid(ST_Extent(a.geom)::geometry)))) AS size FROM a
), ax AS MATERIALIZED (
    -- fractional axial coordinates (q along x, r), and the third cube one
    SELECT q, r, -q - r AS y FROM (
        SELECT (2.0 / 3.0) * p.x / s.size AS q,
               (-p.x / 3.0 + sqrt(3.0) / 3.0 * p.y) / s.size AS r
        FROM (
            -- Web Mercator by its formula: much faster than ST_Transform per point
            SELECT 6378137.0 * radians(ST_X(a.geom)) AS x,
                   6378137.0 * ln(tan(pi() / 4 + radians(ST_Y(a.geom)) / 2)) AS y
            FROM a) p, s
    ) t
), cube AS MATERIALIZED (
    SELECT CASE WHEN dq > dr AND dq > dy THEN -ry - rr ELSE rq END::int AS q,
           CASE WHEN NOT (dq > dr AND dq > dy) AND NOT (dy > dr) THEN -rq - ry ELSE rr END::int AS r
    FROM (
        SELECT round(q) AS rq, round(r) AS rr, round(y) AS ry,
               abs(round(q) - q) AS dq, abs(round(r) - r) AS dr, abs(round(y) - y) AS dy
        FROM ax
    ) t
), cell AS (
    SELECT q AS i, r + (q - (q & 1)) / 2 AS j FROM cube
)
SELECT row_number() OVER (ORDER BY cell.i, cell.j) AS id, cell.i, cell.j, count(*) AS appeals,
       ST_Transform(ST_SetSRID(ST_Hexagon(s.size, cell.i, cell.j), 3857), 4326) AS geom
FROM cell, s
GROUP BY cell.i, cell.j, s.size
ORDER BY cell.i, cell.j
