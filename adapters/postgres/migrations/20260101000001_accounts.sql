-- Accounts, sessions and API tokens: plain CRUD, not event-sourced. They say who may log in;
-- the event history records which actor did each thing. Secrets are stored as hashes only.
CREATE TABLE accounts (
    name          text PRIMARY KEY,
    role          text NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL
);

CREATE TABLE sessions (
    token_hash text PRIMARY KEY,
    account    text NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_by_account ON sessions (account, expires_at);

CREATE TABLE api_tokens (
    id          uuid PRIMARY KEY,
    account     text NOT NULL REFERENCES accounts (name) ON DELETE CASCADE,
    name        text NOT NULL,
    secret_hash text NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz
);
CREATE INDEX api_tokens_by_account ON api_tokens (account, created_at);
