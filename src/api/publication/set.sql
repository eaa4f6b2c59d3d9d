-- An admin's switch; changed_by and changed_at are set by the table's trigger.
INSERT INTO layer_publication (layer_id, published)
VALUES ($1, $2)
ON CONFLICT (layer_id) DO UPDATE SET published = EXCLUDED.published
RETURNING layer_id, published, changed_by, changed_at
