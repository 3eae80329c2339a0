-- What an API token may do: 'account' (everything its account may) or 'feed:read' (a
-- service account that reads the history feed and nothing else).
ALTER TABLE api_tokens ADD COLUMN scope text NOT NULL DEFAULT 'account'
    CHECK (scope IN ('account', 'feed:read'));
