-- Schema v9 for PostgreSQL: each CalDAV object's next instance beyond the
-- sync window; as migrations/0009_caldav_next_start.sql, whose comments
-- say what it is for. Objects stored before are due once (next_start 1).
ALTER TABLE caldav_objects ADD COLUMN next_start BIGINT NOT NULL DEFAULT 0;
UPDATE caldav_objects SET next_start = 1;
CREATE INDEX caldav_objects_next ON caldav_objects (account, calendar, next_start) WHERE next_start > 0;
