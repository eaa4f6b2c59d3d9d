-- Whether every geometry ($2, hex EWKB) lies inside the user's perimeter;
-- true for a user without one.
SELECT coalesce(bool_and(ST_CoveredBy(ST_GeomFromEWKB(decode(h, 'hex')), u.perimeter)), true)
FROM users u, unnest($2::text[]) AS h
WHERE u.id = $1 AND u.perimeter IS NOT NULL
