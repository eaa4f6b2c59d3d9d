-- Every change of feature $2 of table $1, oldest first.
SELECT version, at, actor, operation, old_row, new_row
FROM history
WHERE table_name = $1 AND feature_id = $2
ORDER BY id
