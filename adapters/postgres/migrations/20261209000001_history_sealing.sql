-- The audit of the one rewrite of stored events Tally allows: `tally seal-history` seals the
-- personal fields of events stored in plaintext (before encryption) with their subjects'
-- keys, in batches. One row per run: who ran it, when, from which position, how far it got
-- (updated in each batch's own transaction, so that a killed run resumes from there) and how
-- much it sealed.
CREATE TABLE history_sealing (
    run           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    operator      text        NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    resumed_from  bigint      NOT NULL,
    position      bigint      NOT NULL,
    events_sealed bigint      NOT NULL DEFAULT 0,
    fields_sealed bigint      NOT NULL DEFAULT 0
);
