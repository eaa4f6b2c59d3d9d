-- Every run-time publication override (layer_publication, migration 0120).
SELECT layer_id, published, changed_by, changed_at
FROM layer_publication
ORDER BY layer_id
