-- Schema v7: leases (issue 10), so that several daemons sharing one
-- configuration and one database split the work: each source (imap:<account>,
-- caldav:<account>) and the evaluation pass is done by the one daemon that
-- holds its lease, and a daemon that dies loses its leases when they expire.
--
-- holder names a daemon process (hostname:pid:random). generation is the
-- fencing token: it grows each time the lease changes hands (or is taken
-- again after it expired), so work begun under an older generation cannot
-- commit (store.WithLease). Times are Unix ms, as everywhere; expires_at is
-- 0 once released. Portable SQL: the same file serves PostgreSQL.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    generation  BIGINT NOT NULL,
    acquired_at BIGINT NOT NULL,
    renewed_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
