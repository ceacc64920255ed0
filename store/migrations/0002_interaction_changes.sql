-- Schema v2: a change log of interactions, so that an evaluator keeping
-- them in memory reads only what changed since its last pass.
--
-- Triggers write it, so every writer is covered without knowing about it:
-- mail inserted in bulk, meetings updated when rescheduled, future
-- occurrences deleted when a calendar object changes or goes, participants
-- merged from a colleague's copy. A reader remembers the last seq it read;
-- the rows after it name the interactions to read again (one that is gone
-- was deleted).
--
-- seq is the rowid, which SQLite assigns as max + 1: with one writer at a
-- time, seqs are committed in order and without gaps, and pruning never
-- deletes the newest row, so a seq is never reused. (A Postgres port would
-- use a sequence and read up to the oldest open transaction instead.)
CREATE TABLE interaction_changes (
    seq            INTEGER PRIMARY KEY,
    interaction_id INTEGER NOT NULL
);

CREATE TRIGGER interactions_log_insert AFTER INSERT ON interactions
BEGIN
    INSERT INTO interaction_changes (interaction_id) VALUES (NEW.id);
END;

-- Only changes evaluation can see: sources rewrite unchanged meetings
-- each time a calendar object is fetched again.
CREATE TRIGGER interactions_log_update AFTER UPDATE ON interactions
WHEN OLD.id IS NOT NEW.id OR OLD.key IS NOT NEW.key OR OLD.kind IS NOT NEW.kind OR OLD.at IS NOT NEW.at
    OR OLD.end_at IS NOT NEW.end_at OR OLD.all_day IS NOT NEW.all_day OR OLD.subject IS NOT NEW.subject
    OR OLD.sender IS NOT NEW.sender OR OLD.message_id IS NOT NEW.message_id
    OR OLD.in_reply_to IS NOT NEW.in_reply_to OR OLD.refs IS NOT NEW.refs OR OLD.filter IS NOT NEW.filter
BEGIN
    INSERT INTO interaction_changes (interaction_id) SELECT OLD.id UNION SELECT NEW.id;
END;

CREATE TRIGGER interactions_log_delete AFTER DELETE ON interactions
BEGIN
    INSERT INTO interaction_changes (interaction_id) VALUES (OLD.id);
END;

-- BEFORE, to see whether the row is new: INSERT OR IGNORE of a row that
-- is already there, and INSERT OR REPLACE of one that does not change what
-- evaluation reads (the name aside), log nothing.
CREATE TRIGGER participants_log_insert BEFORE INSERT ON participants
WHEN NOT EXISTS (SELECT 1 FROM participants WHERE interaction_id = NEW.interaction_id
    AND address = NEW.address AND role = NEW.role AND partstat IS NEW.partstat)
BEGIN
    INSERT INTO interaction_changes (interaction_id) VALUES (NEW.interaction_id);
END;

CREATE TRIGGER participants_log_update AFTER UPDATE ON participants
WHEN OLD.interaction_id IS NOT NEW.interaction_id OR OLD.address IS NOT NEW.address
    OR OLD.role IS NOT NEW.role OR OLD.partstat IS NOT NEW.partstat
BEGIN
    INSERT INTO interaction_changes (interaction_id) SELECT OLD.interaction_id UNION SELECT NEW.interaction_id;
END;

CREATE TRIGGER participants_log_delete AFTER DELETE ON participants
BEGIN
    INSERT INTO interaction_changes (interaction_id) VALUES (OLD.interaction_id);
END;
