-- Schema v4: facts per copy, alert episodes and a stable history start
-- (issue "Alerts users can trust"). Forward-only.

-- The filter each copy of an interaction was seen with. A customer's mail
-- to a group lands with List-Id in a member's mailbox and directly in the
-- owner's INBOX: the interaction counts when any copy counts, whichever
-- copy was read first (interactions.filter is '' then). Existing copies
-- take the interaction's filter, the only fact kept so far.
ALTER TABLE interaction_sources ADD COLUMN filter TEXT NOT NULL DEFAULT '';
UPDATE interaction_sources SET filter =
    (SELECT i.filter FROM interactions i WHERE i.id = interaction_sources.interaction_id);

-- A copy in another account changes which sources carry the interaction,
-- which decides whether a failing account leaves its customers unknown:
-- log it. A copy in the account that first saw it (another folder) changes
-- nothing evaluation reads, and a first sync writes one per mail: skipped.
CREATE TRIGGER interaction_sources_log_insert AFTER INSERT ON interaction_sources
WHEN NEW.account IS NOT (SELECT account FROM interactions WHERE id = NEW.interaction_id)
BEGIN
    INSERT INTO interaction_changes (interaction_id) VALUES (NEW.interaction_id);
END;

CREATE TRIGGER interaction_sources_log_delete AFTER DELETE ON interaction_sources
BEGIN
    INSERT INTO interaction_changes (interaction_id) VALUES (OLD.interaction_id);
END;

-- The episode of an alert: an alert for one due period that resolves and
-- fires again is episode 2, with webhook ids of its own.
ALTER TABLE alerts ADD COLUMN episode INTEGER NOT NULL DEFAULT 1;

-- Small facts the daemon keeps: history_start (Unix ms), fixed once every
-- source completed its first sync.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
