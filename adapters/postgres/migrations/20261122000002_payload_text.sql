-- Each event's payload also as text, computed by the server as the event is written. Sending a
-- JSONB value means printing it (numbers included) at every read; replaying a long stream reads
-- this column instead, sent as is. The JSONB column stays the one to query.
ALTER TABLE events ADD COLUMN payload_text text GENERATED ALWAYS AS (payload::text) STORED;
