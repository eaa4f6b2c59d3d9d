-- Credential changes reach every server instance: each caches resolved
-- tokens and API keys for a short while (src/auth/credentials.rs) and drops
-- that cache on any notification here. Only changes that can take access
-- away or change it notify; a key's last_used_at (written on use) does not.
CREATE FUNCTION geoportal_credentials_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('geoportal_credentials', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER credentials_update AFTER UPDATE ON sessions FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
          OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
          OR OLD.user_id IS DISTINCT FROM NEW.user_id
          OR OLD.token_sha256 IS DISTINCT FROM NEW.token_sha256)
    EXECUTE FUNCTION geoportal_credentials_changed();
CREATE TRIGGER credentials_delete AFTER DELETE OR TRUNCATE ON sessions
    FOR EACH STATEMENT EXECUTE FUNCTION geoportal_credentials_changed();

CREATE TRIGGER credentials_update AFTER UPDATE ON api_keys FOR EACH ROW
    WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at
          OR OLD.roles IS DISTINCT FROM NEW.roles
          OR OLD.executor_id IS DISTINCT FROM NEW.executor_id
          OR OLD.key_sha256 IS DISTINCT FROM NEW.key_sha256)
    EXECUTE FUNCTION geoportal_credentials_changed();
CREATE TRIGGER credentials_delete AFTER DELETE OR TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION geoportal_credentials_changed();

CREATE TRIGGER credentials_update AFTER UPDATE ON users FOR EACH ROW
    WHEN (OLD.roles IS DISTINCT FROM NEW.roles
          OR OLD.disabled_at IS DISTINCT FROM NEW.disabled_at
          OR OLD.executor_id IS DISTINCT FROM NEW.executor_id
          OR OLD.username IS DISTINCT FROM NEW.username
          OR OLD.password_hash IS DISTINCT FROM NEW.password_hash)
    EXECUTE FUNCTION geoportal_credentials_changed();
CREATE TRIGGER credentials_delete AFTER DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION geoportal_credentials_changed();
