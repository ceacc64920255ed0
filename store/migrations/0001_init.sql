-- Schema v1. Times are INTEGER Unix milliseconds, UTC. SQL kept portable
-- (no SQLite-only types) so a Postgres backend can share it.

-- One row per interaction, keyed on its natural key (cadence.MailKey,
-- DigestKey, MeetingKey): re-reading a folder or a calendar never duplicates.
CREATE TABLE interactions (
    id          INTEGER PRIMARY KEY,
    key         TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    at          INTEGER NOT NULL,
    end_at      INTEGER NOT NULL DEFAULT 0,
    all_day     INTEGER NOT NULL DEFAULT 0,
    subject     TEXT    NOT NULL DEFAULT '',
    sender      TEXT    NOT NULL DEFAULT '',
    account     TEXT    NOT NULL,
    message_id  TEXT    NOT NULL DEFAULT '',
    in_reply_to TEXT    NOT NULL DEFAULT '',
    refs        TEXT    NOT NULL DEFAULT '', -- space-separated Message-IDs
    filter      TEXT    NOT NULL DEFAULT '', -- cadence.Filter; '' counts
    first_seen  INTEGER NOT NULL
);
CREATE INDEX interactions_at ON interactions (at);
CREATE INDEX interactions_message_id ON interactions (message_id);

CREATE TABLE participants (
    interaction_id INTEGER NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    address        TEXT    NOT NULL,
    name           TEXT    NOT NULL DEFAULT '',
    role           TEXT    NOT NULL,
    partstat       TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (interaction_id, address, role)
);
CREATE INDEX participants_address ON participants (address);

-- Where an interaction was seen: (account, locator), where locator is
-- "imap:<folder>" or "caldav:<calendar-url><href>". A planned meeting whose
-- last source disappears is deleted; past interactions are never deleted.
CREATE TABLE interaction_sources (
    interaction_id INTEGER NOT NULL REFERENCES interactions (id) ON DELETE CASCADE,
    account        TEXT    NOT NULL,
    locator        TEXT    NOT NULL,
    PRIMARY KEY (interaction_id, account, locator)
);
CREATE INDEX interaction_sources_locator ON interaction_sources (account, locator);

-- IMAP per-folder sync state (RFC 3501 UIDVALIDITY/UIDNEXT, RFC 7162 HIGHESTMODSEQ).
CREATE TABLE imap_folders (
    account        TEXT    NOT NULL,
    folder         TEXT    NOT NULL,
    uid_validity   INTEGER NOT NULL,
    uid_next       INTEGER NOT NULL,
    highest_modseq INTEGER NOT NULL DEFAULT 0,
    synced_at      INTEGER NOT NULL,
    PRIMARY KEY (account, folder)
);

-- CalDAV per-calendar sync state (RFC 6578 sync token, getctag) and the
-- ETag of every object, for ETag-diff fallback.
CREATE TABLE caldav_calendars (
    account    TEXT    NOT NULL,
    url        TEXT    NOT NULL,
    sync_token TEXT    NOT NULL DEFAULT '',
    ctag       TEXT    NOT NULL DEFAULT '',
    synced_at  INTEGER NOT NULL,
    PRIMARY KEY (account, url)
);
CREATE TABLE caldav_objects (
    account  TEXT NOT NULL,
    calendar TEXT NOT NULL,
    href     TEXT NOT NULL,
    etag     TEXT NOT NULL,
    uid      TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (account, calendar, href)
);

-- Health of each sync source ("imap:<account>", "caldav:<account>").
CREATE TABLE sources (
    name                 TEXT    PRIMARY KEY,
    last_attempt_at      INTEGER NOT NULL DEFAULT 0,
    last_success_at      INTEGER NOT NULL DEFAULT 0,
    failing_since        INTEGER NOT NULL DEFAULT 0, -- 0: healthy
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    last_error           TEXT    NOT NULL DEFAULT '',
    stats                TEXT    NOT NULL DEFAULT '{}' -- JSON counters (skipped, filtered by reason)
);

-- Alert lifecycle. id is derived from content (customer, commitment, due
-- period), so a rebuilt state can never alert twice for the same slip.
CREATE TABLE alerts (
    id               TEXT    PRIMARY KEY,
    customer_id      TEXT    NOT NULL,
    commitment       TEXT    NOT NULL,
    period           TEXT    NOT NULL,
    state            TEXT    NOT NULL, -- at_risk | slipped | resolved
    due_at           INTEGER NOT NULL,
    opened_at        INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    resolved_at      INTEGER NOT NULL DEFAULT 0,
    last_notified_at INTEGER NOT NULL DEFAULT 0,
    details          TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX alerts_state ON alerts (state);
CREATE INDEX alerts_customer ON alerts (customer_id, commitment);

CREATE TABLE silences (
    id          TEXT    PRIMARY KEY,
    customer_id TEXT    NOT NULL,
    commitment  TEXT    NOT NULL DEFAULT '', -- '' silences every commitment
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);

-- Webhook outbox. An event's id is its webhook-id, stable across retries,
-- restarts and redelivery. One delivery per (event, endpoint).
CREATE TABLE events (
    id         TEXT    PRIMARY KEY,
    type       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    payload    TEXT    NOT NULL -- JSON body as sent (standard format)
);
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    event_id        TEXT    NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    endpoint        TEXT    NOT NULL,
    state           TEXT    NOT NULL, -- pending | delivered | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_attempt_at INTEGER NOT NULL DEFAULT 0,
    last_status     INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT    NOT NULL DEFAULT '',
    delivered_at    INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    UNIQUE (event_id, endpoint)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE TABLE delivery_attempts (
    delivery_id INTEGER NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    status      INTEGER NOT NULL DEFAULT 0,
    error       TEXT    NOT NULL DEFAULT '',
    duration_ms INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (delivery_id, attempt)
);
CREATE TABLE endpoints (
    name            TEXT    PRIMARY KEY,
    disabled_at     INTEGER NOT NULL DEFAULT 0,
    disabled_reason TEXT    NOT NULL DEFAULT ''
);
