-- Read replicas (issue 9): every instance keeps, per table, the primary's
-- WAL position after the table's last change, and reads the table from a
-- replica only once the replica has replayed that far (src/db/replica.rs).
-- Layer tables with geometry tell of their changes through the tile
-- triggers of 0010; the registers without geometry had no trigger, so a
-- change to them reached no other instance. This one sends the table name
-- alone on the same channel (one notification per statement; PostgreSQL
-- folds identical ones within a transaction). The WAL position is read by
-- the listener when the notification arrives, after the commit: the
-- trigger cannot know its own commit position.

CREATE FUNCTION geoportal_changes_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('geoportal_tiles', json_build_object('table', TG_TABLE_NAME)::text);
    RETURN NULL;
END $$;

-- Attaches the change notification to a table without geometry.
CREATE FUNCTION geoportal_changes_track(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TRIGGER changes_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
                   'FOR EACH STATEMENT EXECUTE FUNCTION geoportal_changes_notify()', tbl);
END $$;

SELECT geoportal_changes_track(t)
FROM unnest(ARRAY[
    'leases', 'accruals', 'payments', 'tariffs', 'energy_readings', 'deputies', 'executors',
    'executor_responsibility', 'working_calendar', 'appeal_deadlines'
]::regclass[]) AS t;
