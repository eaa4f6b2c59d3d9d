-- The committed switch of one layer (no row: the file decides).
SELECT published FROM layer_publication WHERE layer_id = $1
