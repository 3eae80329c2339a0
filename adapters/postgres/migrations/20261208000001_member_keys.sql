-- The data keys of personal data, one per data subject (a member), wrapped by the master key
-- (TALLY_MASTER_KEY) named by `master`. Apart from the events on purpose: deleting a row makes
-- the subject's sealed fields unreadable everywhere (crypto-shredding), and this table is
-- backed up apart from the rest, with its own retention (see the README's Personal data).
CREATE TABLE member_keys (
    subject    text        PRIMARY KEY,
    master     text        NOT NULL,
    wrapped    bytea       NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
