package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/provider/providertest"
	"github.com/tunelab/tunelab/internal/store/postgres/pgtest"
)

// TestMoveLabToPostgres moves a lab from its SQLite file to PostgreSQL
// with export and import, and checks the run then resumes there whole.
func TestMoveLabToPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	dir := newLab(t)
	o := newOracle(t, dir)
	srv := providertest.NewOpenAIServer(t, providertest.Text(o.answer))
	args := []string{"eval", "--model", "openai-compatible:" + srv.URL + "#fake", "--limit", "12", "--quiet", "--json", "out.json"}
	if r := tunelab(t, dir, nil, args...); r.code != 0 {
		t.Fatalf("eval: %d %s", r.code, r.stderr)
	}
	before := readResults(t, filepath.Join(dir, "out.json"))
	calls := len(srv.Requests())
	n := len(before.Results)
	counts := fmt.Sprintf("1 runs, %d results", n)

	file := filepath.Join(t.TempDir(), "lab.jsonl")
	r := tunelab(t, dir, nil, "export", file)
	if r.code != 0 || !strings.Contains(r.stderr, counts) {
		t.Fatalf("export: %d %s", r.code, r.stderr)
	}
	r = tunelab(t, dir, nil, "import", file, "--store", dsn)
	if r.code != 0 || !strings.Contains(r.stderr, counts) {
		t.Fatalf("import: %d %s", r.code, r.stderr)
	}
	r = tunelab(t, dir, nil, append(args, "--store", dsn)...)
	if r.code != 0 {
		t.Fatalf("eval on the new store: %d %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, fmt.Sprintf("%d resumed", n)) || len(srv.Requests()) != calls {
		t.Errorf("eval on the moved store made %d calls; want none (all %d resumed)\n%s", len(srv.Requests())-calls, n, r.stderr)
	}
	after := readResults(t, filepath.Join(dir, "out.json"))
	if after.Summary.RunID != before.Summary.RunID || !equalMaps(answersOf(after), answersOf(before)) {
		t.Error("the moved lab's results differ from the original's")
	}

	r = tunelab(t, dir, nil, "import", filepath.Join(dir, "data", "test.jsonl"), "--store", dsn)
	if r.code == 0 || !strings.Contains(r.stderr, "test.jsonl line 1: not a tunelab export") {
		t.Errorf("importing a dataset: %d %s; want a clear refusal", r.code, r.stderr)
	}
}
