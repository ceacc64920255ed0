-- Schema v8 (issue 10): the outbox by columns, claims that several
-- dispatchers can share, source failures as state of their own, and the
-- indexes retention deletes by. Forward-only. New statements are portable
-- (SQLite and PostgreSQL 15); the backfills below read the JSON payloads
-- once, with SQLite's JSON functions, and nothing reads them after.

-- What the dispatcher orders and routes by, written at enqueue: the event
-- type, and the key of the deliveries that must reach an endpoint in
-- order (the customer ID of commitment events, the source of sync
-- events, '' for no order). The due query reads them instead of
-- json_extract over every payload.
ALTER TABLE deliveries ADD COLUMN event_type TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN order_key  TEXT NOT NULL DEFAULT '';
-- A claim: the dispatcher that took the delivery for an attempt, and
-- until when. A claim taken after claim_until takes it over (its holder
-- died); a holder records or releases only its own claim.
ALTER TABLE deliveries ADD COLUMN claimed_by  TEXT    NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN claim_until INTEGER NOT NULL DEFAULT 0;
-- The alert a commitment event is about, for a customer's delivery log.
ALTER TABLE events ADD COLUMN alert_id TEXT NOT NULL DEFAULT '';

UPDATE events SET alert_id = COALESCE(CASE WHEN json_valid(payload)
    THEN json_extract(payload, '$.data.alert_id') END, '');
UPDATE deliveries SET
    event_type = (SELECT e.type FROM events e WHERE e.id = deliveries.event_id),
    order_key = COALESCE((SELECT CASE WHEN json_valid(e.payload) THEN COALESCE(
        json_extract(e.payload, '$.data.customer.id'), json_extract(e.payload, '$.data.source')) END
        FROM events e WHERE e.id = deliveries.event_id), '');

-- The pending deliveries one due delivery may wait behind: same endpoint
-- and order key, created before it.
CREATE INDEX deliveries_order ON deliveries (endpoint, order_key, created_at, id) WHERE state = 'pending';
-- Due deliveries, now with what the due query and the queue depth
-- (counted on every pass) read of them: both run on the index alone. (An
-- index on (state, endpoint) would mislead SQLite's planner into probing
-- every pending delivery of the endpoint for each due one.)
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at, endpoint, claim_until);
-- Finished deliveries by age, for retention.
CREATE INDEX deliveries_finished ON deliveries (state, last_attempt_at) WHERE state <> 'pending';
CREATE INDEX events_alert ON events (alert_id) WHERE alert_id <> '';
CREATE INDEX alerts_resolved ON alerts (resolved_at) WHERE state = 'resolved';

-- A source's announced failure: the sync.failing event that announced
-- it, until evaluation announces its recovery (and deletes the row).
-- Before v8 the dispatcher found these by parsing old events' payloads.
CREATE TABLE source_failures (
    source        TEXT    PRIMARY KEY, -- "imap:<account>", "caldav:<account>"
    failing_since INTEGER NOT NULL,
    event_id      TEXT    NOT NULL,
    announced_at  INTEGER NOT NULL
);
INSERT INTO source_failures (source, failing_since, event_id, announced_at)
    SELECT json_extract(f.payload, '$.data.source'),
        COALESCE(CAST(ROUND((julianday(json_extract(f.payload, '$.data.failing_since')) - 2440587.5) * 86400000.0) AS INTEGER), 0),
        f.id, f.created_at
    FROM events f
    WHERE f.type = 'sync.failing' AND json_valid(f.payload) AND json_extract(f.payload, '$.data.source') IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM events r WHERE r.type = 'sync.recovered' AND json_valid(r.payload)
            AND json_extract(r.payload, '$.data.failing_event_id') = f.id)
    ORDER BY f.created_at, f.id
    ON CONFLICT (source) DO UPDATE SET failing_since = excluded.failing_since, event_id = excluded.event_id,
        announced_at = excluded.announced_at;

-- Events by age: retention deletes those no delivery refers to any more.
CREATE INDEX events_created ON events (created_at);

-- A counter every change to the outbox moves (deliveries written,
-- endpoints disabled or enabled): a dispatcher that found nothing due,
-- and until when nothing can become due, asks this one row on its next
-- passes instead of the due query, until it moves. Kept by triggers, so
-- every writer is covered without knowing about it.
CREATE TABLE outbox_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
);
INSERT INTO outbox_version (id, version) VALUES (1, 0);
CREATE TRIGGER deliveries_version_insert AFTER INSERT ON deliveries
BEGIN
    UPDATE outbox_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER deliveries_version_update AFTER UPDATE ON deliveries
BEGIN
    UPDATE outbox_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER deliveries_version_delete AFTER DELETE ON deliveries
BEGIN
    UPDATE outbox_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER endpoints_version_insert AFTER INSERT ON endpoints
BEGIN
    UPDATE outbox_version SET version = version + 1 WHERE id = 1;
END;
CREATE TRIGGER endpoints_version_update AFTER UPDATE ON endpoints
BEGIN
    UPDATE outbox_version SET version = version + 1 WHERE id = 1;
END;
