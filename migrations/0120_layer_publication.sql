-- Publication of layers switched at run time by an admin. A row overrides
-- the `published` key of layers/<id>.toml; no row means the file decides.
-- Every change (through the API or psql) is announced on the channel
-- `geoportal_publication`, so every instance follows at once, and is kept
-- in `history` by the trigger of 0001 (actor, time, old and new row).
CREATE TABLE layer_publication (
    layer_id   text PRIMARY KEY,
    published  boolean NOT NULL,
    changed_by text,
    changed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT layer_publication_id_format CHECK (layer_id ~ '^[a-z_][a-z0-9_]{0,62}$')
);

-- Who and when are the database's to say, whatever the client sends: the
-- server names the admin in geoportal.actor, psql is recorded as db:<role>.
CREATE FUNCTION geoportal_publication_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.changed_by := geoportal_actor();
    NEW.changed_at := now();
    RETURN NEW;
END $$;

CREATE TRIGGER stamp BEFORE INSERT OR UPDATE ON layer_publication
    FOR EACH ROW EXECUTE FUNCTION geoportal_publication_stamp();

-- The row-level history of 0001 (the table has no numeric id: feature_id
-- stays null, the layer id is in old_row/new_row).
CREATE TRIGGER history AFTER INSERT OR UPDATE OR DELETE ON layer_publication
    FOR EACH ROW EXECUTE FUNCTION geoportal_history();

-- {"layer_id": …, "published": true|false|null}; null = the override was
-- removed (the file decides again); {"all": true} after a TRUNCATE.
CREATE FUNCTION geoportal_publication_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('geoportal_publication', json_build_object('all', true)::text);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('geoportal_publication',
            json_build_object('layer_id', OLD.layer_id, 'published', NULL)::text);
    ELSE
        IF TG_OP = 'UPDATE' AND NEW.layer_id IS DISTINCT FROM OLD.layer_id THEN
            PERFORM pg_notify('geoportal_publication',
                json_build_object('layer_id', OLD.layer_id, 'published', NULL)::text);
        END IF;
        PERFORM pg_notify('geoportal_publication',
            json_build_object('layer_id', NEW.layer_id, 'published', NEW.published)::text);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER notify AFTER INSERT OR UPDATE OR DELETE ON layer_publication
    FOR EACH ROW EXECUTE FUNCTION geoportal_publication_notify();
CREATE TRIGGER notify_truncate AFTER TRUNCATE ON layer_publication
    FOR EACH STATEMENT EXECUTE FUNCTION geoportal_publication_notify();
