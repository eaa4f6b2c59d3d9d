-- Feature $2 of table $1 at time $3: the new row of the last change up to
-- then, or else the old row of the first change after (NULL if that change
-- created it); no row at all when it never changed (the caller reads the
-- table).
SELECT row FROM (
    (SELECT 1 AS k, new_row AS row FROM history
     WHERE table_name = $1 AND feature_id = $2 AND at <= $3
     ORDER BY id DESC LIMIT 1)
    UNION ALL
    (SELECT 2, old_row FROM history
     WHERE table_name = $1 AND feature_id = $2 AND at > $3
     ORDER BY id LIMIT 1)
) s
ORDER BY k
LIMIT 1
