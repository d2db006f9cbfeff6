// Package sqlite is tunelab's default store: one SQLite file in the lab
// (.tunelab/tunelab.db), through modernc.org/sqlite so the binary needs no
// cgo. It implements lab.Store.
//
// The file runs in WAL mode so that reads (the UI, reports) never wait for
// the runner's writes. All writes in a process go through one connection,
// which is SQLite's own rule (one writer at a time) made explicit: writers
// queue in Go instead of spinning on SQLITE_BUSY. busy_timeout covers the
// case of a second tunelab process writing the same file.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

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

// busyTimeout is how long a write waits for another process holding the
// write lock before failing with SQLITE_BUSY.
const busyTimeout = 10 * time.Second

// Store is a lab.Store in one SQLite file.
type Store struct {
	path string
	w    *sql.DB // exactly one connection: the only writer in this process
	r    *sql.DB // readers; WAL lets them run beside the writer

	saveResult *sql.Stmt // prepared once: SaveResult is the hot path
	batch      *batcher

	serving.Ops // deployments, traces, feedback, keys and artifacts

	closeOnce sync.Once
	closeErr  error
}

var _ lab.Store = (*Store)(nil)

// Open opens (creating if needed) the database at path, creating its parent
// directory, and brings its schema up to date. It refuses a database whose
// schema is newer than this binary knows (see migrate.ErrSchemaTooNew).
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite store: empty path")
	}
	if path == ":memory:" || strings.HasPrefix(path, "file::memory:") {
		// Reads and writes use separate connections, which would each see
		// their own empty in-memory database.
		return nil, errors.New("open sqlite store: in-memory databases are not supported; use a file (a temporary directory works)")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
		return nil, fmt.Errorf("open sqlite store %s: create directory: %w", path, err)
	}
	s := &Store{path: path}
	if s.w, err = sql.Open("sqlite", dsn(abs, false)); err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if err := s.migrate(ctx); err != nil {
		s.w.Close()
		return nil, err
	}
	if s.r, err = sql.Open("sqlite", dsn(abs, true)); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	s.r.SetMaxIdleConns(4)
	if s.saveResult, err = s.w.PrepareContext(ctx, upsertResult); err != nil {
		s.r.Close()
		s.w.Close()
		return nil, fmt.Errorf("open sqlite store %s: prepare: %w", path, err)
	}
	s.batch = newBatcher(s)
	s.Ops = serving.Ops{DB: sqlDB{exec: s.w, query: s.r, begin: s.w}, Where: path}
	return s, nil
}

// dsn builds the connection string. synchronous=NORMAL in WAL mode means a
// commit is in the WAL file (the OS has it) when it returns, without an
// fsync per commit: it survives the process being killed, which is the
// failure a long evaluation run must survive, and may lose the last commits
// only on power loss or an OS crash. _txlock=immediate takes the write lock
// at BEGIN, so a transaction never fails halfway on a lock upgrade.
func dsn(abs string, readOnly bool) string {
	// The path goes into a file: URI; escape what a URI would misread.
	p := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(abs))
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a drive letter: file:/C:/... is the URI form SQLite reads
	}
	q := []string{
		fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds()),
		"_pragma=foreign_keys(1)",
		"_pragma=journal_mode(WAL)",
		"_pragma=synchronous(NORMAL)",
		"_txlock=immediate",
	}
	if readOnly {
		q = append(q, "_pragma=query_only(1)")
	}
	return "file:" + p + "?" + strings.Join(q, "&")
}

// migrate applies the pending migrations, each in its own transaction. The
// version is read inside the transaction, under the write lock, so two
// processes opening a fresh file at once do not both apply a step.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := Migrations()
	if err != nil {
		return fmt.Errorf("open sqlite store %s: %w", s.path, err)
	}
	if _, err := s.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("open sqlite store %s: %w", s.path, err)
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
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("open sqlite store %s: begin migration: %w", s.path, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit this is a no-op
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return false, fmt.Errorf("open sqlite store %s: read schema version: %w", s.path, err)
	}
	if have > len(ms) {
		return false, &migrate.TooNewError{Where: s.path, Have: have, Known: len(ms)}
	}
	if have == len(ms) {
		return true, nil
	}
	m := ms[have]
	if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
		return false, fmt.Errorf("open sqlite store %s: migration %s: %w", s.path, m.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.Version, m.Name, time.Now().UnixMicro()); err != nil {
		return false, fmt.Errorf("open sqlite store %s: record migration %s: %w", s.path, m.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("open sqlite store %s: commit migration %s: %w", s.path, m.Name, err)
	}
	return false, nil
}

// SchemaVersion returns the newest migration applied to the database.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.r.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("sqlite store %s: read schema version: %w", s.path, err)
	}
	return v, nil
}

// Path returns the database file as given to Open.
func (s *Store) Path() string { return s.path }

// Close waits for pending saves, then closes the database. It is safe to
// call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.batch.close()
		s.closeErr = errors.Join(s.saveResult.Close(), s.r.Close(), s.w.Close())
		if s.closeErr != nil {
			s.closeErr = fmt.Errorf("close sqlite store %s: %w", s.path, s.closeErr)
		}
	})
	return s.closeErr
}

func isForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
