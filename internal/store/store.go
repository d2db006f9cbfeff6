// Package store opens the lab.Store a DSN names: a SQLite file by default,
// or a PostgreSQL database for a team. The backends live in sub-packages
// that know nothing of each other; this package is the one place that
// chooses between them.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/store/postgres"
	"github.com/tunelab/tunelab/internal/store/sqlite"
)

// DefaultPath is the lab's SQLite file, relative to the lab directory.
const DefaultPath = ".tunelab/tunelab.db"

// Open opens the store dsn names:
//
//   - a plain path, or sqlite:PATH (also sqlite://PATH): a SQLite file,
//     created with its parent directory if missing;
//   - postgres://... or postgresql://...: a PostgreSQL database; the URL may
//     carry schema=NAME (default "tunelab").
//
// Both bring the schema up to date and refuse a database written by a
// newer tunelab (errors.Is(err, migrate.ErrSchemaTooNew)).
func Open(ctx context.Context, dsn string) (lab.Store, error) {
	kind, target, err := Parse(dsn)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "postgres":
		return postgres.Open(ctx, target)
	default:
		return sqlite.Open(ctx, target)
	}
}

// Parse says which backend dsn names ("sqlite" or "postgres") and what to
// hand it: the file path for SQLite, the DSN itself for PostgreSQL.
func Parse(dsn string) (kind, target string, err error) {
	switch {
	case strings.TrimSpace(dsn) == "":
		return "", "", errors.New("open store: empty DSN; give a file path (e.g. " + DefaultPath + ") or a postgres:// URL")
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return "postgres", dsn, nil
	case strings.HasPrefix(dsn, "sqlite:"):
		// sqlite:///abs/path and sqlite://rel/path are URL spellings of
		// the same thing as sqlite:/abs/path and sqlite:rel/path.
		p := strings.TrimPrefix(strings.TrimPrefix(dsn, "sqlite:"), "//")
		if p == "" {
			return "", "", fmt.Errorf("open store %q: no file path after sqlite:", dsn)
		}
		return "sqlite", p, nil
	}
	if scheme, _, ok := strings.Cut(dsn, "://"); ok && !strings.ContainsAny(scheme, `/\`) {
		return "", "", fmt.Errorf("open store: unsupported scheme %q; use a file path, sqlite:PATH, or postgres://", scheme)
	}
	return "sqlite", dsn, nil
}
