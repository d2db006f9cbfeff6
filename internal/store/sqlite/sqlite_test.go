package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/store/migrate"
	"github.com/tunelab/tunelab/internal/store/storetest"
)

// dbPaths gives each test one database file, so opening twice with the
// same t reopens the same data.
var dbPaths sync.Map // *testing.T -> string

func dbPath(t *testing.T) string {
	if p, ok := dbPaths.Load(t); ok {
		return p.(string)
	}
	p := filepath.Join(t.TempDir(), ".tunelab", "tunelab.db")
	dbPaths.Store(t, p)
	t.Cleanup(func() { dbPaths.Delete(t) })
	return p
}

func openTest(t *testing.T) lab.Store {
	t.Helper()
	s, err := Open(context.Background(), dbPath(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// bumpSchema records a migration this binary does not have, as a newer
// tunelab would.
func bumpSchema(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from_the_future.sql', 0)`,
		len(ms)+1); err != nil {
		t.Fatal(err)
	}
}

func TestContract(t *testing.T) {
	storetest.Run(t, openTest, storetest.FutureSchema(func(t *testing.T) error {
		bumpSchema(t, dbPath(t))
		s, err := Open(context.Background(), dbPath(t))
		if err == nil {
			s.Close()
		}
		return err
	}))
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		path    func(dir string) string
		wantErr string
	}{
		{"creates parent directories", func(d string) string { return filepath.Join(d, "a", "b", "tunelab.db") }, ""},
		{"odd characters in path", func(d string) string { return filepath.Join(d, "we?ird #dir%20", "t.db") }, ""},
		{"empty path", func(string) string { return "" }, "empty path"},
		{"in-memory refused", func(string) string { return ":memory:" }, "in-memory"},
		{"not a database", func(d string) string {
			p := filepath.Join(d, "tunelab.yaml")
			if err := os.WriteFile(p, []byte("task:\n  name: x\n"+strings.Repeat("#", 4096)), 0o644); err != nil {
				t.Fatal(err)
			}
			return p
		}, "tunelab.yaml"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := tc.path(t.TempDir())
			s, err := Open(ctx, p)
			if tc.wantErr != "" {
				if err == nil {
					s.Close()
					t.Fatalf("Open(%q) succeeded; want error containing %q", p, tc.wantErr)
				}
				if !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Open(%q) error %q does not contain %q", p, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", p, err)
			}
			defer s.Close()
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("database file not created: %v", err)
			}
		})
	}
}

func TestPragmasAndMigrations(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, dbPath(t))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		db    *sql.DB
		query string
		want  string
	}{
		{"journal mode", s.w, "PRAGMA journal_mode", "wal"},
		{"synchronous NORMAL", s.w, "PRAGMA synchronous", "1"},
		{"foreign keys on writer", s.w, "PRAGMA foreign_keys", "1"},
		{"busy timeout", s.w, "PRAGMA busy_timeout", fmt.Sprint(busyTimeout.Milliseconds())},
		{"reader is query-only", s.r, "PRAGMA query_only", "1"},
		{"every migration recorded", s.r, "SELECT count(*) FROM schema_migrations", fmt.Sprint(len(ms))},
		{"tables exist", s.r, "SELECT group_concat(name, ',') FROM (SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name)",
			"api_keys,artifact_parts,artifacts,cache,deployments,feedback,results,runs,schema_migrations,traces"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			if err := tc.db.QueryRowContext(ctx, tc.query).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("%s = %q, want %q", tc.query, got, tc.want)
			}
		})
	}
	v, err := s.SchemaVersion(ctx)
	if err != nil || v != len(ms) {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(ms))
	}
}

func TestReopenDoesNotReapplyMigrations(t *testing.T) {
	ctx := context.Background()
	for i := range 3 {
		s, err := Open(ctx, dbPath(t))
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		var n int
		if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil {
			t.Fatal(err)
		}
		s.Close()
		if ms, _ := Migrations(); n != len(ms) {
			t.Fatalf("open #%d: %d migration rows, want %d", i+1, n, len(ms))
		}
	}
}

func TestFutureSchemaError(t *testing.T) {
	ctx := context.Background()
	p := dbPath(t)
	s, err := Open(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	bumpSchema(t, p)
	_, err = Open(ctx, p)
	var tooNew *migrate.TooNewError
	if !errors.As(err, &tooNew) {
		t.Fatalf("Open error = %v, want *migrate.TooNewError", err)
	}
	ms, _ := Migrations()
	if tooNew.Have != len(ms)+1 || tooNew.Known != len(ms) || tooNew.Where != p {
		t.Fatalf("TooNewError = %+v, want Have %d Known %d Where %s", tooNew, len(ms)+1, len(ms), p)
	}
}

// Two stores on one file, as when the web UI and a CLI run share a lab:
// SQLite's file lock and busy_timeout serialise them without errors.
func TestTwoStoresOneFile(t *testing.T) {
	ctx := context.Background()
	p := dbPath(t)
	var stores [2]*Store
	for i := range stores {
		s, err := Open(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	if err := stores[0].SaveRun(ctx, lab.RunInfo{ID: "r"}); err != nil {
		t.Fatal(err)
	}
	const perStore, writers = 100, 4
	var wg sync.WaitGroup
	errs := make(chan error, 2*writers)
	for si, s := range stores {
		for w := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perStore {
					r := lab.CallResult{RunID: "r", CandidateID: fmt.Sprintf("s%d-w%d", si, w), CaseID: fmt.Sprint(i)}
					if err := s.SaveResult(ctx, r); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, s := range stores {
		rs, err := s.Results(ctx, "r")
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 2*writers*perStore {
			t.Fatalf("store %d sees %d results, want %d", i, len(rs), 2*writers*perStore)
		}
	}
}
