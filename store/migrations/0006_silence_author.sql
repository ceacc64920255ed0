-- Schema v6: silences record who added them (issue 12), as Alertmanager's
-- createdBy does, so a muted alert can be asked about. Silences added
-- before have no author: ''. `silence remove` now expires a silence
-- (ends_at = now) instead of deleting it, so the row stays for the record.
ALTER TABLE silences ADD COLUMN author TEXT NOT NULL DEFAULT '';
