-- Version $3 of feature $2 of table $1: the new row of the change that made
-- it, or the old row of the change after it.
SELECT CASE WHEN (new_row->>'version')::int = $3 THEN new_row ELSE old_row END
FROM history
WHERE table_name = $1 AND feature_id = $2
  AND ((new_row->>'version')::int = $3 OR (old_row->>'version')::int = $3)
ORDER BY id DESC
LIMIT 1
