-- Feed readers resume after an event id (http-feeds' lastEventId): find its position
-- without scanning the history.
CREATE INDEX IF NOT EXISTS events_by_event_id ON events (event_id);
