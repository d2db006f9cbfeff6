package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/store/migrate"
	"github.com/tunelab/tunelab/internal/store/storetest"
)

// testDSN returns the database the tests may use, or skips: they need a
// PostgreSQL server the developer or CI provides.
func testDSN(t testing.TB) string {
	dsn := os.Getenv("TUNELAB_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("TUNELAB_TEST_POSTGRES is not set: set it to a PostgreSQL DSN " +
			"(e.g. postgres://postgres@127.0.0.1:5432/postgres) to run the PostgreSQL store tests")
	}
	return dsn
}

// schemas gives each test its own schema, dropped when the test ends, so
// opening twice with the same t reopens the same data.
var (
	schemas   sync.Map // *testing.T -> string
	schemaSeq atomic.Int64
)

func testSchema(t *testing.T) string {
	if s, ok := schemas.Load(t); ok {
		return s.(string)
	}
	name := fmt.Sprintf("tunelab_test_%d_%d", os.Getpid(), schemaSeq.Add(1))
	schemas.Store(t, name)
	t.Cleanup(func() {
		schemas.Delete(t)
		exec(t, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`)
	})
	return name
}

// exec runs one statement outside any store.
func exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, testDSN(t))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func openTest(t *testing.T) lab.Store {
	t.Helper()
	s, err := OpenSchema(context.Background(), testDSN(t), testSchema(t))
	if err != nil {
		t.Fatalf("OpenSchema: %v", err)
	}
	return s
}

func bumpSchema(t *testing.T) {
	t.Helper()
	ms, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	exec(t, `INSERT INTO `+pgx.Identifier{testSchema(t)}.Sanitize()+`.schema_migrations (version, name) VALUES ($1, 'from_the_future.sql')`, len(ms)+1)
}

func TestContract(t *testing.T) {
	testDSN(t)
	storetest.Run(t, openTest, storetest.FutureSchema(func(t *testing.T) error {
		bumpSchema(t)
		s, err := OpenSchema(context.Background(), testDSN(t), testSchema(t))
		if err == nil {
			s.Close()
		}
		return err
	}))
}

func TestSchemaFromDSN(t *testing.T) {
	tests := []struct {
		name, dsn, wantDSN, wantSchema string
	}{
		{"default", "postgres://u:p@h/db?sslmode=disable", "postgres://u:p@h/db?sslmode=disable", DefaultSchema},
		{"named", "postgresql://u@h:5433/db?schema=team_a&sslmode=disable", "postgresql://u@h:5433/db?sslmode=disable", "team_a"},
		{"keyword form untouched", "host=h dbname=db", "host=h dbname=db", DefaultSchema},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dsn, schema, err := SplitSchema(tc.dsn)
			if err != nil {
				t.Fatal(err)
			}
			if dsn != tc.wantDSN || schema != tc.wantSchema {
				t.Fatalf("SplitSchema(%q) = %q, %q; want %q, %q", tc.dsn, dsn, schema, tc.wantDSN, tc.wantSchema)
			}
		})
	}
	if _, _, err := SplitSchema("postgres://u:secret@h:notaport/db"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("bad URL: error %v; want one that does not repeat the password", err)
	}
}

func TestMigrationsAndSchema(t *testing.T) {
	ctx := context.Background()
	schema := testSchema(t)
	// Two stores opening a fresh schema at once: the advisory lock makes
	// them take turns, so neither sees a half-applied migration.
	var wg sync.WaitGroup
	stores := make([]*Store, 2)
	errs := make([]error, 2)
	for i := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = OpenSchema(ctx, testDSN(t), schema)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("concurrent open #%d: %v", i, err)
		}
		defer stores[i].Close()
	}
	ms, _ := Migrations()
	v, err := stores[0].SchemaVersion(ctx)
	if err != nil || v != len(ms) {
		t.Fatalf("SchemaVersion = %d, %v; want %d", v, err, len(ms))
	}
	var tables string
	err = stores[0].pool.QueryRow(ctx, `SELECT string_agg(table_name, ',' ORDER BY table_name)
		FROM information_schema.tables WHERE table_schema = $1`, schema).Scan(&tables)
	if err != nil || tables != "api_keys,artifact_parts,artifacts,cache,deployments,feedback,results,runs,schema_migrations,traces" {
		t.Fatalf("tables in %s = %q, %v", schema, tables, err)
	}
	var n int
	if err := stores[0].pool.QueryRow(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(ms) {
		t.Fatalf("schema_migrations rows = %d, %v; want %d", n, err, len(ms))
	}
}

func TestFutureSchemaError(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSchema(ctx, testDSN(t), testSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	bumpSchema(t)
	_, err = OpenSchema(ctx, testDSN(t), testSchema(t))
	var tooNew *migrate.TooNewError
	if !errors.As(err, &tooNew) {
		t.Fatalf("OpenSchema error = %v, want *migrate.TooNewError", err)
	}
	ms, _ := Migrations()
	if tooNew.Have != len(ms)+1 || tooNew.Known != len(ms) || !strings.Contains(tooNew.Where, testSchema(t)) {
		t.Fatalf("TooNewError = %+v, want Have %d Known %d and the schema named", tooNew, len(ms)+1, len(ms))
	}
}
