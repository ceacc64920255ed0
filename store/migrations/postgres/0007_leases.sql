-- Schema v7 for PostgreSQL: leases, as migrations/0007_leases.sql (whose
-- comment says what they are for); text sorts bytewise as everywhere here.
CREATE TABLE leases (
    name        TEXT COLLATE "C" PRIMARY KEY,
    holder      TEXT COLLATE "C" NOT NULL,
    generation  BIGINT NOT NULL,
    acquired_at BIGINT NOT NULL,
    renewed_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
