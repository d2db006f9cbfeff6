// Package pgtest gives a test a PostgreSQL schema of its own, on the server
// TUNELAB_TEST_POSTGRES names (CI starts one), and drops it when the test
// ends. Without the variable the test is skipped.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
)

var seq atomic.Int64

// DSN returns a DSN naming a fresh schema (schema=NAME), or skips t.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("TUNELAB_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("TUNELAB_TEST_POSTGRES is not set: set it to a PostgreSQL DSN (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run the tests that need PostgreSQL")
	}
	schema := fmt.Sprintf("tunelab_t_%d_%d", os.Getpid(), seq.Add(1))
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "schema=" + schema
}
