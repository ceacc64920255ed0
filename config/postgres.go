package config

import (
	"bytes"

	"github.com/jackc/pgx/v5/pgconn"
)

// postgres checks the PostgreSQL settings. postgres.dsn_file may be set
// while store is still sqlite: `touchbase store copy --to postgres` reads
// it before the switch. The DSN holds a password: no message quotes it.
func (b *builder) postgres(r rawPostgres) Postgres {
	if r.DSNFile == "" {
		return Postgres{}
	}
	pg := Postgres{DSNFile: b.path(r.DSNFile)}
	pg.DSN = Secret{File: pg.DSNFile}
	data := b.readSecretFile("postgres.dsn_file", pg.DSNFile)
	if data == nil {
		return pg
	}
	defer clear(data)
	// pgconn's own message quotes the DSN (its password masked, but the
	// rest of a mistyped value may be one): say what is wanted instead.
	if _, err := pgconn.ParseConfig(string(bytes.TrimSpace(data))); err != nil {
		b.p.add("postgres.dsn_file", "%q does not hold a valid PostgreSQL DSN (want a postgres:// URL or key=value pairs)", pg.DSNFile)
	}
	return pg
}
