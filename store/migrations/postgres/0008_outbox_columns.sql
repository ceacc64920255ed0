-- Schema v8 for PostgreSQL: the outbox by columns, claims several
-- dispatchers share, source failures as state of their own, the indexes
-- retention deletes by, and the outbox version; as
-- migrations/0008_outbox_columns.sql, whose comments say what each is for.
-- The backfills read the payloads once with touchbase_json_text (v6).

ALTER TABLE deliveries ADD COLUMN event_type  TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN order_key   TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN claimed_by  TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN claim_until BIGINT NOT NULL DEFAULT 0;
ALTER TABLE events ADD COLUMN alert_id TEXT COLLATE "C" NOT NULL DEFAULT '';

UPDATE events SET alert_id = COALESCE(touchbase_json_text(payload, '{data,alert_id}'), '');
UPDATE deliveries d SET event_type = e.type,
    order_key = COALESCE(touchbase_json_text(e.payload, '{data,customer,id}'),
        touchbase_json_text(e.payload, '{data,source}'), '')
    FROM events e WHERE e.id = d.event_id;

CREATE INDEX deliveries_order ON deliveries (endpoint, order_key, created_at, id) WHERE state = 'pending';
DROP INDEX deliveries_due;
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at, endpoint, claim_until);
CREATE INDEX deliveries_finished ON deliveries (state, last_attempt_at) WHERE state <> 'pending';
CREATE INDEX events_alert ON events (alert_id) WHERE alert_id <> '';
CREATE INDEX alerts_resolved ON alerts (resolved_at) WHERE state = 'resolved';

CREATE TABLE source_failures (
    source        TEXT COLLATE "C" PRIMARY KEY,
    failing_since BIGINT NOT NULL,
    event_id      TEXT COLLATE "C" NOT NULL,
    announced_at  BIGINT NOT NULL
);
INSERT INTO source_failures (source, failing_since, event_id, announced_at)
    SELECT DISTINCT ON (touchbase_json_text(f.payload, '{data,source}'))
        touchbase_json_text(f.payload, '{data,source}'),
        COALESCE((EXTRACT(EPOCH FROM touchbase_json_text(f.payload, '{data,failing_since}')::timestamptz) * 1000)::BIGINT, 0),
        f.id, f.created_at
    FROM events f
    WHERE f.type = 'sync.failing' AND touchbase_json_text(f.payload, '{data,source}') IS NOT NULL
        AND NOT EXISTS (SELECT 1 FROM events r WHERE r.type = 'sync.recovered'
            AND touchbase_json_text(r.payload, '{data,failing_event_id}') = f.id)
    ORDER BY touchbase_json_text(f.payload, '{data,source}'), f.created_at DESC, f.id DESC;

CREATE INDEX events_created ON events (created_at);

CREATE TABLE outbox_version (
    id      BIGINT PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO outbox_version (id, version) VALUES (1, 0);
CREATE FUNCTION touchbase_outbox_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE outbox_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END $$;
-- Triggers of the same names as SQLite's, per statement: the version
-- only has to move, not count rows.
CREATE TRIGGER deliveries_version_insert AFTER INSERT ON deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION touchbase_outbox_moved();
CREATE TRIGGER deliveries_version_update AFTER UPDATE ON deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION touchbase_outbox_moved();
CREATE TRIGGER deliveries_version_delete AFTER DELETE ON deliveries
    FOR EACH STATEMENT EXECUTE FUNCTION touchbase_outbox_moved();
CREATE TRIGGER endpoints_version_insert AFTER INSERT ON endpoints
    FOR EACH STATEMENT EXECUTE FUNCTION touchbase_outbox_moved();
CREATE TRIGGER endpoints_version_update AFTER UPDATE ON endpoints
    FOR EACH STATEMENT EXECUTE FUNCTION touchbase_outbox_moved();
