-- The state cache: a disposable copy of each entity's state at a version, in the format (the
-- shape of the state type) that wrote it. Written inside the appending transaction; rows
-- that are missing, stale or of another format are rebuilt from the events by readers.
-- TRUNCATE loses nothing.
CREATE TABLE state_cache (
    stream  text   PRIMARY KEY,
    kind    text   NOT NULL,
    version bigint NOT NULL,
    format  text   NOT NULL,
    state   jsonb  NOT NULL,
    -- The job board's JSONB property, as a stored column rather than an expression index on
    -- `state`: an index over `state` would make every cache update a non-HOT update (a new
    -- index entry per command, and SSI page conflicts between writers of unrelated
    -- entities). This column only changes when a job changes status, and is NULL for members.
    status  text   GENERATED ALWAYS AS (
        CASE WHEN kind = 'job' THEN state ->> 'status' END
    ) STORED
) WITH (fillfactor = 50);

-- The job board: current open jobs, straight from the cache.
CREATE INDEX state_cache_jobs_by_status ON state_cache (status, format) WHERE kind = 'job';
