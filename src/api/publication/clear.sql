-- Removes an override: the layer file's `published` decides again.
DELETE FROM layer_publication WHERE layer_id = $1
