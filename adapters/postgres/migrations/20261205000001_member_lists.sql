-- The admins' list of members from the state cache: by handle (the stream key, so a page is
-- cut by a cursor on `stream`), searched by part of the handle or the display name in any
-- case. As for the job lists, what is searched is a stored generated column rather than an
-- expression index on `state`, so that a member's row stays HOT on most updates (the
-- handle and the name never change; a grant or an escrow leaves the column as it was).
-- The handle and the name are joined by a unit separator (U+001F), which a search never
-- holds (control characters are taken out of it), so that no match spans both.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE state_cache
    ADD COLUMN member_search text GENERATED ALWAYS AS (
        CASE WHEN kind = 'member' THEN lower(
            coalesce(state -> 'profile' ->> 'handle', '') || chr(31)
            || coalesce(state -> 'profile' ->> 'display_name', '')) END
    ) STORED;

CREATE INDEX state_cache_members_by_handle ON state_cache (format, stream) WHERE kind = 'member';
-- `member_search LIKE '%text%'`: trigrams find the rows that may contain the text, whatever
-- part of the handle or the name it is.
CREATE INDEX state_cache_members_search ON state_cache USING gin (member_search gin_trgm_ops)
    WHERE kind = 'member';
