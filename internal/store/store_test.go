package store

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/store/postgres"
	"github.com/tunelab/tunelab/internal/store/sqlite"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name, dsn, kind, target, wantErr string
	}{
		{"relative path", ".tunelab/tunelab.db", "sqlite", ".tunelab/tunelab.db", ""},
		{"absolute path", "/var/lib/lab/t.db", "sqlite", "/var/lib/lab/t.db", ""},
		{"windows path", `C:\labs\t.db`, "sqlite", `C:\labs\t.db`, ""},
		{"sqlite prefix", "sqlite:lab/t.db", "sqlite", "lab/t.db", ""},
		{"sqlite URL absolute", "sqlite:///tmp/t.db", "sqlite", "/tmp/t.db", ""},
		{"postgres URL", "postgres://u@h/db?schema=x", "postgres", "postgres://u@h/db?schema=x", ""},
		{"postgresql URL", "postgresql://u@h/db", "postgres", "postgresql://u@h/db", ""},
		{"empty", "  ", "", "", "empty DSN"},
		{"sqlite without path", "sqlite:", "", "", "no file path"},
		{"unknown scheme", "mysql://u@h/db", "", "", `unsupported scheme "mysql"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			kind, target, err := Parse(tc.dsn)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want one containing %q", tc.dsn, err, tc.wantErr)
				}
				return
			}
			if err != nil || kind != tc.kind || target != tc.target {
				t.Fatalf("Parse(%q) = %q, %q, %v; want %q, %q", tc.dsn, kind, target, err, tc.kind, tc.target)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tests := []struct {
		name string
		dsn  string
		file string // the SQLite file the DSN must create
	}{
		{"plain path", filepath.Join(dir, "a", DefaultPath), filepath.Join(dir, "a", DefaultPath)},
		{"sqlite prefix", "sqlite:" + filepath.Join(dir, "b", "t.db"), filepath.Join(dir, "b", "t.db")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(ctx, tc.dsn)
			if err != nil {
				t.Fatalf("Open(%q): %v", tc.dsn, err)
			}
			defer s.Close()
			if _, ok := s.(*sqlite.Store); !ok {
				t.Fatalf("Open(%q) returned %T, want *sqlite.Store", tc.dsn, s)
			}
			if err := s.SaveRun(ctx, lab.RunInfo{ID: "r"}); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(tc.file); err != nil {
				t.Fatalf("expected database at %s: %v", tc.file, err)
			}
		})
	}
	t.Run("postgres", func(t *testing.T) {
		dsn := os.Getenv("TUNELAB_TEST_POSTGRES")
		if dsn == "" {
			t.Skip("TUNELAB_TEST_POSTGRES is not set")
		}
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("TUNELAB_TEST_POSTGRES is not a URL: %v", err)
		}
		schema := fmt.Sprintf("tunelab_storetest_%d", os.Getpid())
		q := u.Query()
		q.Set("schema", schema)
		u.RawQuery = q.Encode()
		s, err := Open(ctx, u.String())
		if err != nil {
			t.Fatalf("Open(postgres): %v", err)
		}
		defer s.Close()
		ps, ok := s.(*postgres.Store)
		if !ok {
			t.Fatalf("Open returned %T, want *postgres.Store", s)
		}
		defer func() {
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
				t.Fatal(err)
			}
		}()
		if ps.Schema() != schema {
			t.Fatalf("store uses schema %q, want %q from the DSN", ps.Schema(), schema)
		}
		if err := s.SaveRun(ctx, lab.RunInfo{ID: "r"}); err != nil {
			t.Fatal(err)
		}
	})
}
