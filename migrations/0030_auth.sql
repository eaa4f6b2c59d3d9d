-- Accounts: sessions (bearer tokens), one-time links (email confirmation,
-- password reset), API keys for machine clients, the outgoing message
-- outbox, and an editor's optional perimeter. Every secret is stored as its
-- SHA-256 only: a database leak gives no usable token.

ALTER TABLE users
    ADD COLUMN perimeter geometry(MultiPolygon, 4326),
    ADD COLUMN email_confirmed_at timestamptz,
    ADD CONSTRAINT users_perimeter_valid CHECK (perimeter IS NULL OR ST_IsValid(perimeter)),
    ADD CONSTRAINT users_email_format CHECK (email IS NULL OR email ~ '^[^@\s]+@[^@\s]+\.[^@\s]+$');
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email IS NOT NULL;

CREATE TABLE sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_sha256 bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz,
    client_ip    inet,
    CONSTRAINT sessions_expiry_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

-- Links sent by email: confirm the address of a new resident, reset a password.
CREATE TABLE user_links (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose      text NOT NULL CHECK (purpose IN ('confirm_email', 'reset_password')),
    token_sha256 bytea NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX user_links_user_idx ON user_links (user_id, purpose);

CREATE TABLE api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text NOT NULL CHECK (length(trim(name)) BETWEEN 1 AND 200),
    -- the first characters of the key, shown in lists so an admin can tell keys apart
    prefix       text NOT NULL,
    key_sha256   bytea NOT NULL UNIQUE,
    roles        text[] NOT NULL DEFAULT '{}',
    executor_id  bigint,
    created_by   bigint REFERENCES users (id),
    created_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    last_used_at timestamptz,
    CONSTRAINT api_keys_roles_known CHECK (roles <@ ARRAY[
        'resident', 'appeals_operator', 'executor', 'land_editor', 'property_editor',
        'energy_editor', 'ads_editor', 'investment_editor', 'budget_editor',
        'deputy', 'investor', 'admin']::text[])
);

-- Outgoing messages. Written in the same transaction as the change that
-- causes them; a worker sends them and retries failures with back-off.
CREATE TABLE outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel         text NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'sms')),
    recipient       text NOT NULL,
    subject         text NOT NULL,
    body            text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer NOT NULL DEFAULT 0,
    max_attempts    integer NOT NULL DEFAULT 8,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    failed_at       timestamptz,
    last_error      text
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE sent_at IS NULL AND failed_at IS NULL;
