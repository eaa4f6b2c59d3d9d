-- Spatial analytics (issue 7): the few rules every analysis shares, defined
-- once in the database. The analyses themselves live in analytics/*.sql.

-- The start of a Kyiv calendar day as a timestamptz: periods are given in
-- the city's dates (DOMAIN.md: times stored UTC, shown Europe/Kyiv).
CREATE FUNCTION analytics_kyiv_day_start(d date) RETURNS timestamptz
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (d::timestamp AT TIME ZONE 'Europe/Kyiv') $$;

-- The administrative district of a point. Border rule: a point on the
-- border of several districts (ST_Intersects) belongs to the one with the
-- lowest id, so every point is counted in exactly one district — the same
-- tie-break the appeals trigger uses for electoral districts.
CREATE FUNCTION analytics_admin_district(p geometry) RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$
        SELECT a.id FROM admin_districts a
        WHERE a.deleted_at IS NULL AND ST_Intersects(a.geom, p)
        ORDER BY a.id LIMIT 1
    $$;

-- Small pieces (ST_Subdivide, at most 48 vertices) of the district and
-- zone polygons, kept current by triggers: point-in-polygon on them through
-- a spatial index is far cheaper than on whole districts of a thousand
-- vertices, and subdividing on every request would cost more than the test.
CREATE TABLE analytics_pieces (
    layer text NOT NULL CHECK (layer IN ('electoral_districts', 'admin_districts', 'price_zones')),
    id    bigint NOT NULL,
    g     geometry NOT NULL
);
CREATE INDEX analytics_pieces_g_idx ON analytics_pieces USING gist (g);
CREATE INDEX analytics_pieces_id_idx ON analytics_pieces (layer, id);

CREATE FUNCTION analytics_pieces_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM analytics_pieces WHERE layer = TG_TABLE_NAME AND id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.deleted_at IS NULL THEN
        INSERT INTO analytics_pieces (layer, id, g)
        SELECT TG_TABLE_NAME, NEW.id, ST_Subdivide(NEW.geom, 48);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER analytics_pieces AFTER INSERT OR UPDATE OR DELETE ON electoral_districts
    FOR EACH ROW EXECUTE FUNCTION analytics_pieces_changed();
CREATE TRIGGER analytics_pieces AFTER INSERT OR UPDATE OR DELETE ON admin_districts
    FOR EACH ROW EXECUTE FUNCTION analytics_pieces_changed();
CREATE TRIGGER analytics_pieces AFTER INSERT OR UPDATE OR DELETE ON price_zones
    FOR EACH ROW EXECUTE FUNCTION analytics_pieces_changed();
INSERT INTO analytics_pieces (layer, id, g)
    SELECT 'electoral_districts', id, ST_Subdivide(geom, 48) FROM electoral_districts WHERE deleted_at IS NULL
    UNION ALL
    SELECT 'admin_districts', id, ST_Subdivide(geom, 48) FROM admin_districts WHERE deleted_at IS NULL
    UNION ALL
    SELECT 'price_zones', id, ST_Subdivide(geom, 48) FROM price_zones WHERE deleted_at IS NULL;

-- The districts of one kind: 'electoral' (live electoral districts) or
-- 'admin' (the city's administrative districts).
CREATE FUNCTION analytics_districts(p_kind text)
RETURNS TABLE (id bigint, kind text, number integer, name text, population integer, area_km2 double precision,
               geom geometry)
LANGUAGE sql STABLE AS $$
    SELECT e.id, 'electoral'::text, e.number, e.name, e.population, ST_Area(e.geom::geography) / 1e6, e.geom
    FROM electoral_districts e
    WHERE e.deleted_at IS NULL AND p_kind = 'electoral'
    UNION ALL
    SELECT a.id, 'admin'::text, NULL::integer, a.name, a.population, ST_Area(a.geom::geography) / 1e6, a.geom
    FROM admin_districts a
    WHERE a.deleted_at IS NULL AND p_kind = 'admin'
$$;

-- The appeals every aggregate counts: live, not spam, created in the period
-- (Kyiv dates, inclusive; NULL = open-ended), of the category or one of its
-- subcategories (NULL = all), with the district of the given kind:
-- electoral by the stored electoral_district_id, admin by the border rule
-- of analytics_admin_district(). No text or personal data leaves here.
CREATE FUNCTION analytics_appeals_admin(p_from date, p_to date, p_category text)
RETURNS TABLE (id bigint, kind text, category text, status text, created_at timestamptz,
               registered_at timestamptz, due_at timestamptz, resolved_at timestamptz,
               executor_id bigint, geom geometry, district_id bigint)
LANGUAGE sql STABLE AS $$
    WITH base AS MATERIALIZED (
        SELECT x.id, x.kind, x.category, x.status, x.created_at, x.registered_at, x.due_at, x.resolved_at,
               x.executor_id, x.geom, x.electoral_district_id
        FROM appeals x
        WHERE x.deleted_at IS NULL AND x.status <> 'spam'
          AND (p_from IS NULL OR x.created_at >= analytics_kyiv_day_start(p_from))
          AND (p_to IS NULL OR x.created_at < analytics_kyiv_day_start(p_to + 1))
          AND (p_category IS NULL OR x.category = p_category OR x.category LIKE p_category || '.%')
    ), pieces AS MATERIALIZED (
        -- the same rule as analytics_admin_district(), set-based, on the
        -- districts' small pieces
        SELECT p.id, p.g FROM analytics_pieces p WHERE p.layer = 'admin_districts'
    ), adm AS (
        -- through the appeals' spatial index, piece by piece
        SELECT x.id, min(p.id) AS district_id
        FROM pieces p JOIN appeals x ON x.geom && p.g AND ST_Intersects(p.g, x.geom)
        GROUP BY x.id
    )
    SELECT b.id, b.kind, b.category, b.status, b.created_at, b.registered_at, b.due_at, b.resolved_at,
           b.executor_id, b.geom,
           adm.district_id
    FROM base b LEFT JOIN adm ON adm.id = b.id
$$;

-- A single SELECT, so PostgreSQL inlines it into the calling query: the
-- electoral branch stays an indexed scan of appeals, and the branch of the
-- other kind is pruned.
CREATE FUNCTION analytics_appeals(p_kind text, p_from date, p_to date, p_category text)
RETURNS TABLE (id bigint, kind text, category text, status text, created_at timestamptz,
               registered_at timestamptz, due_at timestamptz, resolved_at timestamptz,
               executor_id bigint, geom geometry, district_id bigint)
LANGUAGE sql STABLE AS $$
    SELECT x.id, x.kind, x.category, x.status, x.created_at, x.registered_at, x.due_at, x.resolved_at,
           x.executor_id, x.geom, x.electoral_district_id
    FROM appeals x
    WHERE p_kind = 'electoral' AND x.deleted_at IS NULL AND x.status <> 'spam'
      AND (p_from IS NULL OR x.created_at >= analytics_kyiv_day_start(p_from))
      AND (p_to IS NULL OR x.created_at < analytics_kyiv_day_start(p_to + 1))
      AND (p_category IS NULL OR x.category = p_category OR x.category LIKE p_category || '.%')
    UNION ALL
    SELECT * FROM analytics_appeals_admin(p_from, p_to, p_category) WHERE p_kind = 'admin'
$$;

-- Deadline bookkeeping of one appeal, the same in every analysis:
--  * decided: the answer came, or the deadline has passed;
--  * on_time: answered (resolved_at) no later than due_at;
--  * overdue: still open (registered, in progress, extended) past due_at.
CREATE FUNCTION analytics_appeal_on_time(resolved_at timestamptz, due_at timestamptz) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN due_at IS NULL OR resolved_at IS NULL THEN NULL ELSE resolved_at <= due_at END $$;

CREATE FUNCTION analytics_appeal_overdue(status text, resolved_at timestamptz, due_at timestamptz) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT status IN ('registered', 'in_progress', 'extended') AND resolved_at IS NULL
                 AND due_at IS NOT NULL AND due_at < now() $$;

-- Advertising rules (DOMAIN.md section 3, ad_structures):
--  * standing: physically in place — permitted, expired, cancelled (permit
--    withdrawn, structure not yet removed) or unauthorized; applied and
--    priority are places not yet built on, dismantled is gone;
--  * expired permit still standing: status expired, or permitted past valid_to;
--  * without a permit: standing as unauthorized or cancelled, or with no
--    permit number at all.
CREATE FUNCTION analytics_ad_standing(status text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT status IN ('permitted', 'expired', 'cancelled', 'unauthorized') $$;

CREATE FUNCTION analytics_ad_expired_standing(status text, valid_to date) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT status = 'expired' OR (status = 'permitted' AND valid_to IS NOT NULL AND valid_to < current_date) $$;

CREATE FUNCTION analytics_ad_without_permit(status text, permit_number text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT status IN ('unauthorized', 'cancelled')
                 OR (status IN ('permitted', 'expired') AND permit_number IS NULL) $$;

-- Energy use intensity per municipal building over a period (default: the
-- 365 days up to the latest reading). Conversions to kWh:
--   heat: 1 Gcal = 1163 kWh (exact: 10^9 cal × 4.1868 J / 3.6 MJ);
--   gas:  1 m³ = 9.5 kWh (lower heating value of Ukrainian pipeline gas,
--         ≈ 34 MJ/m³ ≈ 9.4–9.5 kWh; one factor for the whole city);
--   electricity as is; water is not energy and is left out.
-- Heating (heat + gas) is normalised by heating degree days at base 18 °C
-- from weather_daily: heating_kwh_m2_hdd = heating kWh / m² / HDD of the
-- period, and heating_normalised_kwh_m2 rescales it to the mean annual HDD
-- of the weather record. eui_kwh_m2_year = (normalised heating + annualised
-- electricity) / m². Outliers are judged against the median EUI of objects
-- of the same kind: ratio = EUI / median.
CREATE FUNCTION analytics_energy(p_from date, p_to date)
RETURNS TABLE (
    object_id bigint, kind text, heated_area_m2 numeric, days integer, hdd numeric,
    heat_kwh numeric, gas_kwh numeric, electricity_kwh numeric,
    heating_kwh_m2_hdd numeric, heating_normalised_kwh_m2 numeric, eui_kwh_m2_year numeric,
    median_of_kind numeric, ratio_to_median numeric)
LANGUAGE sql STABLE AS $$
WITH bounds AS (
    SELECT coalesce(p_to, (SELECT max(reading_date) FROM energy_readings WHERE deleted_at IS NULL)) AS t,
           p_from AS f
), period AS (
    SELECT coalesce(b.f, b.t - 364) AS f, b.t FROM bounds b
), w AS (
    SELECT sum(greatest(0, 18 - wd.mean_temp_c)) AS hdd
    FROM weather_daily wd, period p
    WHERE wd.deleted_at IS NULL AND wd.date BETWEEN p.f AND p.t
), yearly AS (
    -- mean annual HDD over the complete years of the record
    SELECT avg(y.hdd) AS hdd FROM (
        SELECT extract(year FROM wd.date) AS yr, sum(greatest(0, 18 - wd.mean_temp_c)) AS hdd, count(*) AS n
        FROM weather_daily wd WHERE wd.deleted_at IS NULL GROUP BY 1) y
    WHERE y.n >= 365
), r AS (
    SELECT er.object_id,
           sum(er.quantity) FILTER (WHERE er.resource = 'heat_gcal') * 1163 AS heat_kwh,
           sum(er.quantity) FILTER (WHERE er.resource = 'gas_m3') * 9.5 AS gas_kwh,
           sum(er.quantity) FILTER (WHERE er.resource = 'electricity_kwh') AS electricity_kwh
    FROM energy_readings er, period p
    WHERE er.deleted_at IS NULL AND er.reading_date BETWEEN p.f AND p.t
    GROUP BY er.object_id
), o AS (
    SELECT e.id, e.kind, e.heated_area_m2, (p.t - p.f + 1) AS days, w.hdd,
           coalesce(r.heat_kwh, 0) AS heat_kwh, coalesce(r.gas_kwh, 0) AS gas_kwh,
           coalesce(r.electricity_kwh, 0) AS electricity_kwh,
           (coalesce(r.heat_kwh, 0) + coalesce(r.gas_kwh, 0)) / e.heated_area_m2 / nullif(w.hdd, 0) AS per_hdd,
           coalesce(yearly.hdd, w.hdd * 365.0 / (p.t - p.f + 1)) AS year_hdd
    FROM energy_objects e
    JOIN r ON r.object_id = e.id
    CROSS JOIN period p CROSS JOIN w CROSS JOIN yearly
    WHERE e.deleted_at IS NULL AND e.heated_area_m2 > 0
), eui AS (
    SELECT o.*, o.per_hdd * o.year_hdd AS norm,
           coalesce(o.per_hdd * o.year_hdd, 0)
             + o.electricity_kwh / o.heated_area_m2 * 365.0 / o.days AS eui
    FROM o
), med AS (
    SELECT kind, percentile_cont(0.5) WITHIN GROUP (ORDER BY eui) AS m FROM eui GROUP BY kind
)
SELECT eui.id, eui.kind, eui.heated_area_m2, eui.days, round(eui.hdd, 1),
       round(eui.heat_kwh, 1), round(eui.gas_kwh, 1), round(eui.electricity_kwh, 1),
       round(eui.per_hdd, 5), round(eui.norm, 2), round(eui.eui, 2),
       round(med.m::numeric, 2), round(eui.eui / nullif(med.m::numeric, 0), 3)
FROM eui JOIN med USING (kind)
$$;

-- Appeals are filtered by period and counted per district and executor.
CREATE INDEX IF NOT EXISTS appeals_live_created_idx ON appeals (created_at) WHERE deleted_at IS NULL AND status <> 'spam';

-- Energy intensity reads a year of daily readings: an index-only scan by date.
CREATE INDEX energy_readings_date_cover_idx ON energy_readings (reading_date)
    INCLUDE (object_id, resource, quantity) WHERE deleted_at IS NULL;

-- Overlaps and narrow gaps between live land plots, kept current on every
-- change of land_plots by statement-level triggers (set-based, so a bulk
-- load pays once): comparing every plot with its neighbours takes seconds
-- on a city, too slow for a request. Each pair once, a_id < b_id.
--   overlap: the plots share area (ST_Relate 2********); geom = the overlap;
--   gap:     the plots do not touch but are closer than 1 m; geom = the
--            shortest line between them (land_quality filters by its gap_m).
CREATE TABLE analytics_land_pairs (
    a_id     bigint NOT NULL,
    b_id     bigint NOT NULL,
    issue    text NOT NULL CHECK (issue IN ('overlap', 'gap')),
    area_m2  double precision,
    gap_m    double precision,
    geom     geometry NOT NULL,
    PRIMARY KEY (a_id, b_id, issue),
    CHECK (a_id < b_id)
);
CREATE INDEX analytics_land_pairs_b_idx ON analytics_land_pairs (b_id);

-- Recomputes the pairs of the plots `ids` (their old pairs are dropped first).
-- The ids are joined as a set, not tested with `= ANY`: a bulk load passes
-- every plot, and `= ANY` of a large array per row is quadratic.
CREATE FUNCTION analytics_land_pairs_refresh(ids bigint[]) RETURNS void LANGUAGE sql AS $$
    DELETE FROM analytics_land_pairs l USING (SELECT DISTINCT unnest(ids) AS id) u
    WHERE l.a_id = u.id OR l.b_id = u.id;
    INSERT INTO analytics_land_pairs (a_id, b_id, issue, area_m2, gap_m, geom)
    SELECT DISTINCT ON (least(c.id, p.id), greatest(c.id, p.id), x.issue)
           least(c.id, p.id), greatest(c.id, p.id), x.issue, x.area_m2, x.gap_m, x.geom
    FROM (SELECT DISTINCT unnest(ids) AS id) u
    JOIN land_plots c ON c.id = u.id
    -- "live" spelled so that it cannot match the partial indexes' predicate:
    -- during a bulk load the table has no statistics yet, and the planner
    -- would AND the whole live-rows index into every neighbour lookup.
    JOIN land_plots p ON p.id <> c.id AND coalesce(p.deleted_at, 'infinity') = 'infinity'
                     AND ST_DWithin(c.geom, p.geom, 1.0 / 60000)
    CROSS JOIN LATERAL (
        SELECT 'overlap'::text AS issue, ST_Area(i.g::geography) AS area_m2, NULL::double precision AS gap_m, i.g AS geom
        FROM (SELECT ST_Intersection(c.geom, p.geom) AS g) i
        WHERE c.geom && p.geom AND ST_Relate(c.geom, p.geom, '2********')
        UNION ALL
        SELECT 'gap', NULL, d.m, ST_ShortestLine(c.geom, p.geom)
        FROM (SELECT ST_Distance(c.geom::geography, p.geom::geography) AS m) d
        WHERE NOT ST_Intersects(c.geom, p.geom) AND d.m < 1.0
    ) x
    WHERE coalesce(c.deleted_at, 'infinity') = 'infinity'
    ORDER BY least(c.id, p.id), greatest(c.id, p.id), x.issue
    ON CONFLICT DO NOTHING;
$$;

CREATE FUNCTION analytics_land_pairs_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT array_agg(id) INTO ids FROM new_rows;
    ELSIF TG_OP = 'UPDATE' THEN
        SELECT array_agg(id) INTO ids FROM (SELECT id FROM new_rows UNION SELECT id FROM old_rows) u;
    ELSE
        SELECT array_agg(id) INTO ids FROM old_rows;
    END IF;
    IF ids IS NOT NULL THEN
        PERFORM analytics_land_pairs_refresh(ids);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER analytics_land_pairs_ins AFTER INSERT ON land_plots
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_land_pairs_changed();
CREATE TRIGGER analytics_land_pairs_upd AFTER UPDATE ON land_plots
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_land_pairs_changed();
CREATE TRIGGER analytics_land_pairs_del AFTER DELETE ON land_plots
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION analytics_land_pairs_changed();
