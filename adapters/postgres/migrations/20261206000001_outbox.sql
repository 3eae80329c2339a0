-- The outbox: what members are told, written by the append statement in the same
-- transaction as the events that cause it (a refused or rolled-back command writes none).
-- Plain records, not events: reading one sets `read_at`, nothing else ever changes a row.
-- `body` is the notification as the domain states it (recipient, kind, job, member, amount,
-- reason); `recipient` and `kind` are kept beside it for the indexes and for webhooks.
CREATE TABLE notifications (
    id          uuid        PRIMARY KEY,   -- UUIDv7: ordered by creation
    recipient   text        NOT NULL,
    kind        text        NOT NULL,
    body        jsonb       NOT NULL,
    command_id  uuid        NOT NULL,
    created_at  timestamptz NOT NULL,
    read_at     timestamptz
);

-- A member's inbox, newest first, a page from a cursor.
CREATE INDEX notifications_inbox ON notifications (recipient, id DESC);
-- Every page's header counts the unread ones.
CREATE INDEX notifications_unread ON notifications (recipient) WHERE read_at IS NULL;
