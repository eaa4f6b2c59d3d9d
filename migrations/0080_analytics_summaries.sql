-- Analytics summaries (issue 7, speed targets): facts every analysis used
-- to recompute per request, kept current by triggers so that edits made
-- any way (API, import, psql) reach them in the same transaction.

-- 1. Data versions, for the server's analytics result cache (src/analytics/cache.rs):
-- the same mechanism as tile_data_versions (migration 0010), but over every
-- table an analysis may read, registers included. A statement that changes
-- rows of a tracked table bumps its version in the writer's transaction, so
-- a reader sees the new version exactly when it sees the new rows.
CREATE TABLE analytics_data_versions (
    table_name text PRIMARY KEY,
    version    bigint NOT NULL DEFAULT 0,
    changed_at timestamptz NOT NULL DEFAULT now()
);

-- Statement-level; a statement that changed no row (a periodic UPDATE that
-- matched nothing) does not bump, so it does not empty the cache.
CREATE FUNCTION analytics_data_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
        PERFORM 1 FROM new_rows LIMIT 1;
        IF NOT FOUND THEN RETURN NULL; END IF;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM 1 FROM old_rows LIMIT 1;
        IF NOT FOUND THEN RETURN NULL; END IF;
    END IF;
    INSERT INTO analytics_data_versions AS v (table_name, version) VALUES (TG_TABLE_NAME, 1)
    ON CONFLICT (table_name) DO UPDATE SET version = v.version + 1, changed_at = now();
    RETURN NULL;
END $$;

-- Attaches the version triggers to a table an analysis reads (README,
-- "Adding a layer"). The server warns at start about tables with history
-- tracking but without these triggers.
CREATE FUNCTION analytics_track(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER analytics_version_ins AFTER INSERT ON %s REFERENCING NEW TABLE AS new_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION analytics_data_changed()', tbl);
    EXECUTE format('CREATE TRIGGER analytics_version_upd AFTER UPDATE ON %s REFERENCING OLD TABLE AS old_rows '
                   'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_data_changed()', tbl);
    EXECUTE format('CREATE TRIGGER analytics_version_del AFTER DELETE ON %s REFERENCING OLD TABLE AS old_rows '
                   'FOR EACH STATEMENT EXECUTE FUNCTION analytics_data_changed()', tbl);
    EXECUTE format('CREATE TRIGGER analytics_version_trunc AFTER TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION analytics_data_changed()', tbl);
    INSERT INTO analytics_data_versions (table_name) VALUES (tbl::text) ON CONFLICT DO NOTHING;
END $$;

-- Every layer and register (the tables with history triggers) and the
-- reference tables the analyses join.
SELECT analytics_track(c.oid::regclass)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r'
  AND (c.relname IN ('land_purpose_codes', 'appeal_categories')
       OR EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = 'history'));

-- 2. Where each feature lies: the electoral district, administrative
-- district and price zone holding a point on its surface (ST_PointOnSurface;
-- the feature's own point for points), and its area. One border rule for
-- every analysis: a point on the border of several districts belongs to the
-- one with the lowest id (the rule of analytics_admin_district()), of
-- several price zones to the lowest zone number. Rows exist for deleted
-- features too (the analyses join the live rows). Kept by the triggers
-- below: on a feature's insert, move or delete, and on any change of a
-- district or zone (the points inside the old and new shapes).
CREATE TABLE analytics_places (
    tbl          text NOT NULL,
    id           bigint NOT NULL,
    pt           geometry(Point, 4326),
    electoral_id bigint,
    admin_id     bigint,
    zone_id      bigint,
    -- spherical estimate of the area, m² (within 1 % of the geodesic area
    -- at city scale); 0 for points
    m2           double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (tbl, id)
);
CREATE INDEX analytics_places_pt_idx ON analytics_places USING gist (pt);

-- The district of each kind and the zone of a point, on the small pieces
-- of migration 0040 (through their spatial index).
CREATE FUNCTION analytics_place_of(p geometry, layer text) RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN layer = 'price_zones' THEN (
               SELECT z.id FROM analytics_pieces s JOIN price_zones z ON z.id = s.id
               WHERE s.layer = 'price_zones' AND s.g && p AND ST_Intersects(s.g, p)
               ORDER BY z.zone_number, z.id LIMIT 1)
           ELSE (
               SELECT min(s.id) FROM analytics_pieces s
               WHERE s.layer = analytics_place_of.layer AND s.g && p AND ST_Intersects(s.g, p))
           END
$$;

-- The computed area (spherical estimate, m²) of a polygon; 0 otherwise.
CREATE FUNCTION analytics_area_m2(geom geometry, pt geometry) RETURNS double precision
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN GeometryType(geom) IN ('POLYGON', 'MULTIPOLYGON')
                THEN ST_Area(geom) * (6371008.8 * pi() / 180) ^ 2 * cos(radians(ST_Y(pt))) ELSE 0 END
$$;

-- During a bulk load the tables have no statistics yet (rows written in
-- the same transaction), and the planner could scan analytics_places once
-- per new row — quadratic. Sequential scans are therefore off inside these
-- functions: every lookup goes through the primary key or a GiST index
-- (the transition tables are read as they are, and joined by hash); JIT
-- too, which those inflated costs would switch on. The expressions are
-- written out (no composite-returning function per row: 100× slower).
CREATE FUNCTION analytics_places_changed() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off SET jit = off AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        DELETE FROM analytics_places ap USING old_rows o WHERE ap.tbl = TG_TABLE_NAME AND ap.id = o.id;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO analytics_places AS ap (tbl, id, pt, electoral_id, admin_id, zone_id, m2)
        SELECT TG_TABLE_NAME, x.id, x.pt,
               analytics_place_of(x.pt, 'electoral_districts'), analytics_place_of(x.pt, 'admin_districts'),
               analytics_place_of(x.pt, 'price_zones'), analytics_area_m2(x.geom, x.pt)
        FROM (SELECT n.id, n.geom, ST_PointOnSurface(n.geom) AS pt FROM new_rows n OFFSET 0) x
        ON CONFLICT (tbl, id) DO UPDATE
            SET pt = excluded.pt, electoral_id = excluded.electoral_id, admin_id = excluded.admin_id,
                zone_id = excluded.zone_id, m2 = excluded.m2;
    ELSE
        -- only the rows whose geometry (or id) changed
        INSERT INTO analytics_places AS ap (tbl, id, pt, electoral_id, admin_id, zone_id, m2)
        SELECT TG_TABLE_NAME, x.id, x.pt,
               analytics_place_of(x.pt, 'electoral_districts'), analytics_place_of(x.pt, 'admin_districts'),
               analytics_place_of(x.pt, 'price_zones'), analytics_area_m2(x.geom, x.pt)
        FROM (SELECT n.id, n.geom, ST_PointOnSurface(n.geom) AS pt
              FROM new_rows n LEFT JOIN old_rows o ON o.id = n.id
              WHERE o.id IS NULL OR ST_AsEWKB(n.geom) <> ST_AsEWKB(o.geom) OFFSET 0) x
        ON CONFLICT (tbl, id) DO UPDATE
            SET pt = excluded.pt, electoral_id = excluded.electoral_id, admin_id = excluded.admin_id,
                zone_id = excluded.zone_id, m2 = excluded.m2;
        DELETE FROM analytics_places ap USING old_rows o
        WHERE ap.tbl = TG_TABLE_NAME AND ap.id = o.id AND NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION analytics_places_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM analytics_places WHERE tbl = TG_TABLE_NAME;
    RETURN NULL;
END $$;

-- Runs after the row triggers of migration 0040 have renewed the pieces.
CREATE FUNCTION analytics_places_districts_changed() RETURNS trigger LANGUAGE plpgsql
SET enable_seqscan = off SET jit = off AS $$
DECLARE
    ext box2d;
    col text := CASE TG_TABLE_NAME WHEN 'electoral_districts' THEN 'electoral_id'
                                   WHEN 'admin_districts' THEN 'admin_id' ELSE 'zone_id' END;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        EXECUTE format('UPDATE analytics_places SET %I = NULL WHERE %I IS NOT NULL', col, col);
        RETURN NULL;
    ELSIF TG_OP = 'INSERT' THEN
        SELECT ST_Extent(geom) INTO ext FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT ST_Extent(geom) INTO ext FROM old_rows;
    ELSE
        SELECT ST_Extent(g) INTO ext FROM (SELECT geom AS g FROM new_rows UNION ALL SELECT geom FROM old_rows) u;
    END IF;
    IF ext IS NULL THEN
        RETURN NULL;
    END IF;
    EXECUTE format('UPDATE analytics_places ap SET %I = x.v FROM ('
                   '  SELECT a.tbl, a.id, analytics_place_of(a.pt, %L) AS v FROM analytics_places a'
                   '  WHERE a.pt && $1::geometry) x '
                   'WHERE ap.tbl = x.tbl AND ap.id = x.id AND ap.%I IS DISTINCT FROM x.v',
                   col, TG_TABLE_NAME, col)
    USING ST_SetSRID(ext::geometry, 4326);
    RETURN NULL;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['appeals', 'land_plots', 'communal_property', 'energy_objects', 'ad_structures',
                             'temporary_structures', 'investment_sites', 'budget_projects'] LOOP
        EXECUTE format('CREATE TRIGGER analytics_places_ins AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION analytics_places_changed()', t);
        EXECUTE format('CREATE TRIGGER analytics_places_upd AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows '
                       'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_places_changed()', t);
        EXECUTE format('CREATE TRIGGER analytics_places_del AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION analytics_places_changed()', t);
        EXECUTE format('CREATE TRIGGER analytics_places_trunc AFTER TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION analytics_places_truncated()', t);
    END LOOP;
    FOREACH t IN ARRAY ARRAY['electoral_districts', 'admin_districts', 'price_zones'] LOOP
        EXECUTE format('CREATE TRIGGER analytics_places_ins AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION analytics_places_districts_changed()', t);
        EXECUTE format('CREATE TRIGGER analytics_places_upd AFTER UPDATE ON %I REFERENCING OLD TABLE AS old_rows '
                       'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_places_districts_changed()', t);
        EXECUTE format('CREATE TRIGGER analytics_places_del AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION analytics_places_districts_changed()', t);
        EXECUTE format('CREATE TRIGGER analytics_places_trunc AFTER TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION analytics_places_districts_changed()', t);
    END LOOP;
END $$;

-- The features already there.
ANALYZE analytics_pieces;
SET LOCAL enable_seqscan = off;
SET LOCAL jit = off;
INSERT INTO analytics_places (tbl, id, pt, electoral_id, admin_id, zone_id, m2)
SELECT x.tbl, x.id, x.pt,
       analytics_place_of(x.pt, 'electoral_districts'), analytics_place_of(x.pt, 'admin_districts'),
       analytics_place_of(x.pt, 'price_zones'), analytics_area_m2(x.geom, x.pt)
FROM (
    SELECT t.tbl, t.id, t.geom, ST_PointOnSurface(t.geom) AS pt FROM (
        SELECT 'appeals' AS tbl, id, geom FROM appeals
        UNION ALL SELECT 'land_plots', id, geom FROM land_plots
        UNION ALL SELECT 'communal_property', id, geom FROM communal_property
        UNION ALL SELECT 'energy_objects', id, geom FROM energy_objects
        UNION ALL SELECT 'ad_structures', id, geom FROM ad_structures
        UNION ALL SELECT 'temporary_structures', id, geom FROM temporary_structures
        UNION ALL SELECT 'investment_sites', id, geom FROM investment_sites
        UNION ALL SELECT 'budget_projects', id, geom FROM budget_projects
    ) t OFFSET 0
) x;
RESET enable_seqscan;
RESET jit;
ANALYZE analytics_places;

-- Appeals in administrative districts: the stored assignment instead of a
-- point-in-polygon per appeal and request (same rule, same result).
CREATE OR REPLACE FUNCTION analytics_appeals_admin(p_from date, p_to date, p_category text)
RETURNS TABLE (id bigint, kind text, category text, status text, created_at timestamptz,
               registered_at timestamptz, due_at timestamptz, resolved_at timestamptz,
               executor_id bigint, geom geometry, district_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT x.id, x.kind, x.category, x.status, x.created_at, x.registered_at, x.due_at, x.resolved_at,
           x.executor_id, x.geom, pl.admin_id
    FROM appeals x
    LEFT JOIN analytics_places pl ON pl.tbl = 'appeals' AND pl.id = x.id
    WHERE x.deleted_at IS NULL AND x.status <> 'spam'
      AND (p_from IS NULL OR x.created_at >= analytics_kyiv_day_start(p_from))
      AND (p_to IS NULL OR x.created_at < analytics_kyiv_day_start(p_to + 1))
      AND (p_category IS NULL OR x.category = p_category OR x.category LIKE p_category || '.%')
$$;
