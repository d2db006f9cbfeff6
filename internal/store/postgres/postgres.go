// Package postgres is tunelab's store for teams that share one database:
// the same tables and guarantees as the SQLite store, in PostgreSQL through
// pgx, kept in a schema of their own (default "tunelab") so tunelab can
// live in a database other things use too. It implements lab.Store.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/store/internal/serving"
	"github.com/tunelab/tunelab/internal/store/migrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the schema steps this binary knows, in order.
func Migrations() ([]migrate.Migration, error) {
	return migrate.Load(migrationFS, "migrations")
}

// DefaultSchema is where the tables go when the DSN names no schema.
const DefaultSchema = "tunelab"

// Store is a lab.Store in a PostgreSQL schema.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	where  string // host, database and schema for messages; never the password

	serving.Ops // deployments, traces, feedback, keys and artifacts

	closeOnce sync.Once
}

var _ lab.Store = (*Store)(nil)

// Open connects to the database dsn names and brings the store's schema up
// to date, creating the schema if it is missing. A URL DSN may carry
// schema=NAME to choose the schema (it is not passed on to the server).
// It refuses a database whose schema is newer than this binary knows (see
// migrate.ErrSchemaTooNew).
func Open(ctx context.Context, dsn string) (*Store, error) {
	dsn, schema, err := SplitSchema(dsn)
	if err != nil {
		return nil, err
	}
	return OpenSchema(ctx, dsn, schema)
}

// SplitSchema takes the schema parameter out of a URL DSN and returns the
// DSN without it and the schema (DefaultSchema when the DSN names none).
func SplitSchema(dsn string) (string, string, error) {
	if !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		return dsn, DefaultSchema, nil
	}
	u, err := url.Parse(dsn)
	if err != nil {
		// url.Error repeats the DSN, password included: say only what failed.
		return "", "", errors.New("open postgres store: the DSN is not a valid URL")
	}
	q := u.Query()
	schema := q.Get("schema")
	if schema == "" {
		return dsn, DefaultSchema, nil
	}
	q.Del("schema")
	u.RawQuery = q.Encode()
	return u.String(), schema, nil
}

// OpenSchema is Open with the schema given apart from the DSN.
func OpenSchema(ctx context.Context, dsn, schema string) (*Store, error) {
	if schema == "" {
		return nil, errors.New("open postgres store: empty schema name")
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgconn's parse errors mask the password themselves.
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	quoted := pgx.Identifier{schema}.Sanitize()
	cfg.ConnConfig.RuntimeParams["search_path"] = quoted
	s := &Store{
		schema: schema,
		where:  fmt.Sprintf("postgres %s:%d/%s schema %s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, schema),
	}
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("open %s: %w", s.where, err)
	}
	if err := s.migrate(ctx); err != nil {
		s.pool.Close()
		return nil, err
	}
	s.Ops = serving.Ops{DB: pgDB{conn: s.pool}, Where: s.where}
	return s, nil
}

// migrate applies the pending migrations, each in its own transaction,
// under an advisory lock so that processes starting together take turns.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := Migrations()
	if err != nil {
		return fmt.Errorf("open %s: %w", s.where, err)
	}
	for {
		done, err := s.step(ctx, ms)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

func (s *Store) step(ctx context.Context, ms []migrate.Migration) (done bool, err error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return false, fmt.Errorf("open %s: %w", s.where, err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op
	h := fnv.New64a()
	h.Write([]byte("tunelab migrate " + s.schema))
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(h.Sum64())); err != nil {
		return false, fmt.Errorf("open %s: lock for migration: %w", s.where, err)
	}
	// CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the
	// schema exists; a team may have created it for a user without it.
	var exists bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, s.schema).Scan(&exists); err != nil {
		return false, fmt.Errorf("open %s: %w", s.where, err)
	}
	q := pgx.Identifier{s.schema}.Sanitize()
	if !exists {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA `+q); err != nil {
			return false, fmt.Errorf("open %s: create schema: %w", s.where, err)
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+q+`.schema_migrations (
		version    integer     NOT NULL PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return false, fmt.Errorf("open %s: %w", s.where, err)
	}
	var have int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+q+`.schema_migrations`).Scan(&have); err != nil {
		return false, fmt.Errorf("open %s: read schema version: %w", s.where, err)
	}
	if have > len(ms) {
		return false, &migrate.TooNewError{Where: s.where, Have: have, Known: len(ms)}
	}
	if have == len(ms) {
		return true, nil
	}
	m := ms[have]
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("open %s: migration %s: %w", s.where, m.Name, err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO `+q+`.schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
		return false, fmt.Errorf("open %s: record migration %s: %w", s.where, m.Name, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, fmt.Errorf("open %s: commit migration %s: %w", s.where, m.Name, err)
	}
	return false, nil
}

// SchemaVersion returns the newest migration applied to the schema.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	if err := s.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return 0, fmt.Errorf("%s: read schema version: %w", s.where, err)
	}
	return v, nil
}

// Schema returns the schema the tables are in.
func (s *Store) Schema() string { return s.schema }

// Close closes the connection pool, waiting for queries in flight. It is
// safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(s.pool.Close)
	return nil
}

func isForeignKey(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23503" // foreign_key_violation
}

// utc reads a timestamptz back in UTC; the server keeps microseconds.
func utc(t time.Time) time.Time { return t.UTC() }
