package workspace

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/example"
)

func exampleLab(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := example.Write(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestOpenExampleLab(t *testing.T) {
	dir := exampleLab(t)
	w, err := Open(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	checks := []struct {
		name string
		ok   bool
	}{
		{"test split loaded", len(w.Test) == 88},
		{"validation carved from train", len(w.Val) > 0 && len(w.Train)+len(w.Val) == 252},
		{"one candidate per prompt", len(w.Candidates()) == len(w.Config.Prompts)},
		{"version set", len(w.Version) == 16},
		{"no leakage warnings", len(w.Warnings) == 0},
		{"store in the lab", fileExists(filepath.Join(dir, ".tunelab", "tunelab.db"))},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !c.ok {
				t.Fail()
			}
		})
	}
}

func TestRunIDTracksWhatDecidesResults(t *testing.T) {
	dir := exampleLab(t)
	ctx := context.Background()
	id := func(t *testing.T, opts Options) string {
		w, err := Open(ctx, dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		specs, primary := w.ScorerSpecs()
		return w.RunInfo(w.Candidates(), specs, primary).ID
	}
	first := id(t, Options{})
	if again := id(t, Options{}); again != first {
		t.Errorf("same lab gave run ids %s and %s", first, again)
	}
	if other := id(t, Options{Models: []string{"openai-compatible:http://127.0.0.1:9/v1#other"}}); other == first {
		t.Error("a different model kept the same run id")
	}
	f := filepath.Join(dir, "data", "test.jsonl")
	b, _ := os.ReadFile(f)
	if err := os.WriteFile(f, []byte(strings.Replace(string(b), "lost my", "mislaid my", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	edited := id(t, Options{})
	if edited == first {
		t.Error("editing a test case kept the same run id")
	}
	// local:base is a file: replacing it (a retrained model under the same
	// name) must not reuse the old model's results.
	if err := appendTo(filepath.Join(dir, "models", "base.gguf"), "retrained"); err != nil {
		t.Fatal(err)
	}
	if replaced := id(t, Options{}); replaced == edited {
		t.Error("replacing the local model file kept the same run id")
	}
}

func TestOpenErrors(t *testing.T) {
	cases := []struct {
		name string
		edit func(dir string) error
		want string
	}{
		{"unknown label in data", func(dir string) error {
			return appendTo(filepath.Join(dir, "data", "test.jsonl"), `{"id":"x1","input":"hello","expected":"weather"}`+"\n")
		}, `"weather" is not one of task.labels`},
		{"missing train file", func(dir string) error { return os.Remove(filepath.Join(dir, "data", "train.jsonl")) }, "data.train"},
		{"bad --model", nil, "--model"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := exampleLab(t)
			opts := Options{}
			if tc.edit != nil {
				if err := tc.edit(dir); err != nil {
					t.Fatal(err)
				}
			} else {
				opts.Models = []string{"gpt-4o"}
			}
			_, err := Open(context.Background(), dir, opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func appendTo(path, text string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(text)
	return err
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
