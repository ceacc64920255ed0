-- Schema v3: cheaper writes for a large first IMAP sync, which stores a
-- hundred thousand mails with their participants, sources and change-log
-- rows. Forward-only. The interaction change log (v2) logs the same
-- changes; only how a participant's insert is detected changes (below).
--
-- Nothing looks interactions up by Message-ID or participants by
-- address (interactions are found by key, participants by interaction):
-- the two indexes cost a B-tree insert per row for no reader.
DROP INDEX interactions_message_id;
DROP INDEX participants_address;

-- Participants and sources are only ever read through their primary key
-- (by interaction): as WITHOUT ROWID tables that key is the table itself,
-- one B-tree per row instead of a table and an index.
DROP TRIGGER participants_log_insert;
DROP TRIGGER participants_log_update;
DROP TRIGGER participants_log_delete;

CREATE TABLE participants_v3 (
    interaction_id INTEGER NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    address        TEXT    NOT NULL,
    name           TEXT    NOT NULL DEFAULT '',
    role           TEXT    NOT NULL,
    partstat       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (interaction_id, address, role)
) WITHOUT ROWID;
INSERT INTO participants_v3 (interaction_id, address, name, role, partstat)
    SELECT interaction_id, address, name, role, partstat FROM participants;
DROP TABLE participants;
ALTER TABLE participants_v3 RENAME TO participants;

CREATE TABLE interaction_sources_v3 (
    interaction_id INTEGER NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    account        TEXT    NOT NULL,
    locator        TEXT    NOT NULL,
    PRIMARY KEY (interaction_id, account, locator)
) WITHOUT ROWID;
INSERT INTO interaction_sources_v3 (interaction_id, account, locator)
    SELECT interaction_id, account, locator FROM interaction_sources;
DROP TABLE interaction_sources;
ALTER TABLE interaction_sources_v3 RENAME TO interaction_sources;
CREATE INDEX interaction_sources_locator ON interaction_sources (account, locator);

-- A participant's insert is logged AFTER it happens, so only for a row
-- actually inserted: INSERT OR IGNORE (or ON CONFLICT DO NOTHING) of a row
-- already there logs nothing, and writers that update a participant use
-- an upsert (ON CONFLICT DO UPDATE), whose update path fires the update
-- trigger below (which logs only what evaluation reads) and not this one.
-- (v2 looked the row up BEFORE every insert instead: one more B-tree
-- search per participant of every mail.) INSERT OR REPLACE counts as an
-- insert and is logged even when nothing changed: writers do not use it.
CREATE TRIGGER participants_log_insert AFTER INSERT ON participants
BEGIN
    INSERT INTO interaction_changes (interaction_id) VALUES (NEW.interaction_id);
END;

-- As in v2.
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
