-- The reports (see tally_ports::reports): one row per report set, its document and the
-- position it was folded up to, written together by one statement (so one transaction):
-- a follower that stops anywhere resumes with nothing counted twice and nothing skipped.
CREATE TABLE reports (
    name       text        PRIMARY KEY,
    format     integer     NOT NULL,
    checkpoint bigint      NOT NULL,
    doc        jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
