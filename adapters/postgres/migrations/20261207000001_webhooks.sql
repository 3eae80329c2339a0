-- Webhooks: endpoints, and one delivery per outbox message and endpoint that wants it,
-- queued by the append statement in the command's transaction (see `notifications`).
-- Delivery state is operational, never history: attempts, errors and dead letters change
-- these rows and nothing else.
CREATE TABLE webhook_endpoints (
    id          uuid        PRIMARY KEY,
    owner       text,                      -- a member's own endpoint; NULL: an admin's (all)
    url         text        NOT NULL,
    kinds       text[]      NOT NULL,      -- empty: every kind
    secret      text        NOT NULL,
    paused      boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_owner ON webhook_endpoints (owner);

CREATE TABLE webhook_deliveries (
    id              uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    -- No foreign keys: checking them would lock the endpoint's row FOR KEY SHARE in every
    -- command that queues a delivery to it, and concurrent commands queue on that one row
    -- (the pg bench: 71% slower at 16 clients with the keys, see README). The append joins
    -- the endpoints it queues for; deleting an endpoint deletes its deliveries with it.
    endpoint        uuid        NOT NULL,
    message         uuid        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,
    last_error      text,
    last_status     integer,
    delivered_at    timestamptz,
    created_at      timestamptz NOT NULL
);
-- The dispatchers' queue: due pending deliveries, oldest due first.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
-- Admins' lists, newest first, by status or endpoint.
CREATE INDEX webhook_deliveries_recent ON webhook_deliveries (created_at DESC, id DESC);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint, created_at DESC);
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (created_at DESC) WHERE status = 'dead';
