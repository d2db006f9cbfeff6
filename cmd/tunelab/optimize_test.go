package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/dataset"
	"github.com/tunelab/tunelab/internal/provider/providertest"
)

func TestOptimize(t *testing.T) {
	dir := newLab(t)
	o := newOracle(t, dir)
	srv := providertest.NewOpenAIServer(t, providertest.Text(o.answer))
	model := "openai-compatible:" + srv.URL + "#fake"

	r := tunelab(t, dir, nil, "optimize", "--model", model, "--budget", "150", "--proposals", "1", "--demo-sets", "2")
	if r.code != 0 {
		t.Fatalf("optimize exit %d:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"trial", "base", "on validation"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if n := len(srv.Requests()); n > 150 {
		t.Errorf("made %d calls, over the budget of 150", n)
	}
	// The test split is for eval alone: the search must never show it to the model.
	ds, err := dataset.Load(filepath.Join(dir, "data", "test.jsonl"), dataset.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, req := range srv.Requests() {
		for _, m := range req.Messages {
			for _, ex := range ds.Examples {
				if strings.Contains(m.Content, ex.Input) {
					t.Fatalf("the optimiser sent test case %s to the model", ex.ID)
				}
			}
		}
	}
	// The written prompt is a valid prompts: entry.
	b, err := os.ReadFile(filepath.Join(dir, "optimized-prompt.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, "tunelab.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	entry := strings.ReplaceAll(strings.TrimPrefix(string(b), "# Found by tunelab optimize. Paste under prompts: in tunelab.yaml.\n"), "\n", "\n  ")
	withBest := strings.Replace(string(cfg), "prompts:\n", "prompts:\n  "+strings.TrimRight(entry, " ")+"\n", 1)
	if _, err := config.Parse([]byte(withBest), "tunelab.yaml"); err != nil {
		t.Errorf("the optimised prompt does not fit in tunelab.yaml: %v\n%s", err, b)
	}

	r = tunelab(t, dir, nil, "optimize", "--model", model, "--prompt", "nope")
	if r.code != 2 || !strings.Contains(r.stderr, `"nope"`) {
		t.Errorf("unknown prompt: exit %d, %s", r.code, r.stderr)
	}
}
