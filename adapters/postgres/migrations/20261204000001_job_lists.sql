-- Lists of jobs from the state cache (the job board with search and paging, a member's jobs
-- and applications, every job): each JSONB property a list selects by is a stored generated
-- column, indexed, rather than an expression index on `state`. An index over `state` would
-- make every cache update a non-HOT update (see the first migration); these columns change
-- only when what they hold changes (a job's owner, reward and words never do; its applicants
-- when someone applies), so most updates of a job's row stay HOT. NULL for members.
ALTER TABLE state_cache
    ADD COLUMN owner text GENERATED ALWAYS AS (
        CASE WHEN kind = 'job' THEN state -> 'details' ->> 'owner' END
    ) STORED,
    ADD COLUMN reward bigint GENERATED ALWAYS AS (
        CASE WHEN kind = 'job' THEN (state -> 'details' ->> 'reward')::bigint END
    ) STORED,
    -- The applicants' handles, as a JSON array (`applicants @> '["bob"]'`).
    ADD COLUMN applicants jsonb GENERATED ALWAYS AS (
        CASE WHEN kind = 'job'
            THEN jsonb_path_query_array(state -> 'applications', '$.keyvalue().key') END
    ) STORED,
    -- The title's and description's words, for the board's search (`simple`: no stemming and
    -- no stop words, the same in every language; a search word matches words it begins).
    ADD COLUMN search tsvector GENERATED ALWAYS AS (
        CASE WHEN kind = 'job' THEN to_tsvector('simple',
            coalesce(state -> 'details' ->> 'title', '') || ' '
            || coalesce(state -> 'details' ->> 'description', '')) END
    ) STORED,
    -- The order of lists (a job's stream: its id is a UUIDv7), as a column of its own: were
    -- lists ordered by `stream`, the planner could walk the primary key instead of a list's
    -- index, and step over every member's row ('member:' sorts after 'job:').
    ADD COLUMN job_order text GENERATED ALWAYS AS (
        CASE WHEN kind = 'job' THEN stream END
    ) STORED;

-- Newest first is by job id: a UUIDv7, whose text orders by creation time. A page is cut by
-- a cursor (`job_order < $last`), so a later page costs what the first does. The reward is
-- included so that counting the board's jobs in a reward range reads only the index.
DROP INDEX state_cache_jobs_by_status;
CREATE INDEX state_cache_jobs_by_status ON state_cache (status, format, job_order) INCLUDE (reward)
    WHERE kind = 'job';
CREATE INDEX state_cache_jobs_by_owner ON state_cache (owner, format, job_order) WHERE kind = 'job';
CREATE INDEX state_cache_jobs_by_id ON state_cache (format, job_order) WHERE kind = 'job';
CREATE INDEX state_cache_jobs_by_applicant ON state_cache USING gin (applicants jsonb_path_ops)
    WHERE kind = 'job';
CREATE INDEX state_cache_jobs_search ON state_cache USING gin (search) WHERE kind = 'job';
