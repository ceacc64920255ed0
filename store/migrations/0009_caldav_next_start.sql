-- Schema v9: each CalDAV object's next instance beyond the sync window.
-- The source stores, for every object it expands, the start of its first
-- instance at or after the window's end (Unix ms; 0: none, the object has
-- no instance left to enter the window). A pass re-reads the objects whose
-- next instance the moving window has reached, instead of asking the
-- server for every object with an instance in the newly covered days (a
-- time-range query that Radicale answers by expanding every series).
ALTER TABLE caldav_objects ADD COLUMN next_start INTEGER NOT NULL DEFAULT 0;
-- Objects stored before v9: their next instance is unknown. 1 (the epoch
-- plus a millisecond) is before any window's end: each is re-read once.
UPDATE caldav_objects SET next_start = 1;
-- The objects of a calendar due at a window's end, without the others.
CREATE INDEX caldav_objects_next ON caldav_objects (account, calendar, next_start) WHERE next_start > 0;
