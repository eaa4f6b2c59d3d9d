-- Vector tiles (issue 3): every change to a layer table, made by any client,
-- notifies the tile caches of every instance (LISTEN geoportal_tiles) with
-- the old and new bounding boxes, and bumps the table's data version (the
-- `v` parameter of TileJSON tile URLs).

CREATE TABLE tile_data_versions (
    table_name text PRIMARY KEY,
    version    bigint NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- Statement-level, so a bulk load sends one notification per statement, not
-- one per row. TG_ARGV[0] is the geometry column. The boxes are a JSON array
-- of [minx, miny, maxx, maxy]: one per row for small statements, one extent
-- for large ones (a bulk change drops a wider but still correct set of
-- tiles, and the payload stays far below NOTIFY's 8000-byte limit).
-- Transition tables are visible only here, not in a called function.
CREATE FUNCTION geoportal_tiles_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    payload jsonb := jsonb_build_object('table', TG_TABLE_NAME, 'old', '[]'::jsonb, 'new', '[]'::jsonb);
    side text;
    n bigint;
    boxes jsonb;
    ext box2d;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        payload := jsonb_build_object('table', TG_TABLE_NAME, 'all', true);
    ELSE
        FOREACH side IN ARRAY CASE TG_OP WHEN 'INSERT' THEN ARRAY['new'] WHEN 'DELETE' THEN ARRAY['old']
                                          ELSE ARRAY['old', 'new'] END LOOP
            EXECUTE format(
                'SELECT count(*), coalesce(jsonb_agg(jsonb_build_array(ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b))) '
                'FILTER (WHERE b IS NOT NULL), ''[]''), ST_Extent(b) FROM (SELECT %I::box2d AS b FROM %I) r',
                TG_ARGV[0], side || '_rows')
            INTO n, boxes, ext;
            IF n > 20 AND ext IS NOT NULL THEN
                boxes := jsonb_build_array(jsonb_build_array(ST_XMin(ext), ST_YMin(ext), ST_XMax(ext), ST_YMax(ext)));
            END IF;
            payload := jsonb_set(payload, ARRAY[side], boxes);
        END LOOP;
        IF payload->'old' = '[]'::jsonb AND payload->'new' = '[]'::jsonb THEN
            RETURN NULL; -- the statement changed no row
        END IF;
    END IF;
    INSERT INTO tile_data_versions AS v (table_name, version) VALUES (TG_TABLE_NAME, 1)
    ON CONFLICT (table_name) DO UPDATE SET version = v.version + 1, changed_at = now();
    PERFORM pg_notify('geoportal_tiles', payload::text);
    RETURN NULL;
END $$;

-- Attaches the tile notifications to a layer table (README, "Adding a layer").
CREATE FUNCTION geoportal_tiles_track(tbl regclass, geom_column text DEFAULT 'geom') RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER tiles_insert AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION geoportal_tiles_notify(%L)', tbl, geom_column);
    EXECUTE format('CREATE TRIGGER tiles_update AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION geoportal_tiles_notify(%L)', tbl, geom_column);
    EXECUTE format('CREATE TRIGGER tiles_delete AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION geoportal_tiles_notify(%L)', tbl, geom_column);
    EXECUTE format('CREATE TRIGGER tiles_truncate AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION geoportal_tiles_notify(%L)', tbl, geom_column);
END $$;

SELECT geoportal_tiles_track(t)
FROM unnest(ARRAY[
    'city_boundary', 'admin_districts', 'streets', 'addresses', 'buildings', 'water', 'price_zones',
    'electoral_districts', 'appeals', 'communal_property', 'land_plots', 'energy_objects',
    'ad_structures', 'temporary_structures', 'investment_sites', 'budget_projects'
]::regclass[]) AS t;
