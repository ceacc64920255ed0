-- Schema v5: participants packed into their interaction's row (issue 11).
-- A first IMAP sync of 100,000 mails wrote 250,000 participant rows, each
-- with a B-tree insert and a change-log row, and that was as costly as
-- the mails themselves; nothing reads a participant apart from its
-- interaction. Forward-only. The packed form is described in store/people.go:
-- records role GS partstat GS address GS name, separated by RS, sorted by
-- role then address.
ALTER TABLE interactions ADD COLUMN people TEXT NOT NULL DEFAULT '';
UPDATE interactions SET people = COALESCE((
    SELECT group_concat(p.role || char(29) || p.partstat || char(29) || p.address || char(29) ||
        replace(replace(p.name, char(29), ' '), char(30), ' '), char(30) ORDER BY p.role, p.address)
    FROM participants p WHERE p.interaction_id = interactions.id), '');

DROP TRIGGER participants_log_insert;
DROP TRIGGER participants_log_update;
DROP TRIGGER participants_log_delete;
DROP TABLE participants;

-- As in v2, with the participants: a change of who took part, or of a
-- PARTSTAT, is a change evaluation sees. (A name alone changes too: such
-- a rare rewrite is logged rather than parsed out here.)
DROP TRIGGER interactions_log_update;
CREATE TRIGGER interactions_log_update AFTER UPDATE ON interactions
WHEN OLD.id IS NOT NEW.id OR OLD.key IS NOT NEW.key OR OLD.kind IS NOT NEW.kind OR OLD.at IS NOT NEW.at
    OR OLD.end_at IS NOT NEW.end_at OR OLD.all_day IS NOT NEW.all_day OR OLD.subject IS NOT NEW.subject
    OR OLD.sender IS NOT NEW.sender OR OLD.message_id IS NOT NEW.message_id
    OR OLD.in_reply_to IS NOT NEW.in_reply_to OR OLD.refs IS NOT NEW.refs OR OLD.filter IS NOT NEW.filter
    OR OLD.people IS NOT NEW.people
BEGIN
    INSERT INTO interaction_changes (interaction_id) SELECT OLD.id UNION SELECT NEW.id;
END;
