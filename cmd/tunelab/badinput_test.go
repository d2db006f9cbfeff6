package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadInputChangesNothing types the mistakes a user makes into the
// config, the data files and the flags, and checks that each one gives
// exit code 2 and one line naming what to fix, and that the lab (and
// every output path the command was given) is left exactly as it was.
func TestBadInputChangesNothing(t *testing.T) {
	const model = "openai-compatible:http://127.0.0.1:1/v1#m" // never reached: every case fails first
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		args  []string
		want  []string // substrings of the one-line error
	}{
		{
			name:  "fraction for a whole number",
			setup: func(t *testing.T, dir string) { replaceInLab(t, dir, "tunelab.yaml", "repeats: 1\n", "repeats: 1.5\n") },
			args:  []string{"eval", "--model", model},
			want:  []string{"tunelab.yaml:", "repeats: want a whole number", `"1.5"`},
		},
		{
			name: "NaN temperature",
			setup: func(t *testing.T, dir string) {
				replaceInLab(t, dir, "tunelab.yaml", "temperature: 0\n", "temperature: .nan\n")
			},
			args: []string{"eval", "--model", model},
			want: []string{"tunelab.yaml:", "params.temperature: want a finite number"},
		},
		{
			name: "negative budget",
			setup: func(t *testing.T, dir string) {
				replaceInLab(t, dir, "tunelab.yaml", "monthly_budget: 500", "monthly_budget: -500")
			},
			args: []string{"eval", "--model", model},
			want: []string{"tunelab.yaml:", "task.constraints.monthly_budget"},
		},
		{
			name: "empty label",
			setup: func(t *testing.T, dir string) {
				replaceInLab(t, dir, "tunelab.yaml", "    - security_fraud\n", "    - security_fraud\n    - ''\n")
			},
			args: []string{"eval", "--model", model},
			want: []string{"tunelab.yaml:", "task.labels[10]", "empty label"},
		},
		{
			name: "unknown data format",
			setup: func(t *testing.T, dir string) {
				replaceInLab(t, dir, "tunelab.yaml", "  test: data/test.jsonl\n", "  test: data/test.jsonl\n  format: parquet\n")
			},
			args: []string{"eval", "--model", model},
			want: []string{"tunelab.yaml:", "data.format", `"parquet"`, "jsonl"},
		},
		{
			name:  "duration without a unit",
			setup: func(t *testing.T, dir string) { replaceInLab(t, dir, "tunelab.yaml", "timeout: 120s", "timeout: 120") },
			args:  []string{"eval", "--model", model},
			want:  []string{"tunelab.yaml:", "timeout", "30s"},
		},
		{
			name:  "model without a provider",
			setup: func(t *testing.T, dir string) {},
			args:  []string{"eval", "--model", "gpt-4o-mini"},
			want:  []string{"--model", "PROVIDER:MODEL"},
		},
		{
			name: "CSV row with too few columns",
			setup: func(t *testing.T, dir string) {
				writeText(t, filepath.Join(dir, "rows.csv"), "input,expected\na,b\nc\n")
			},
			args: []string{"data", "convert", "rows.csv", "--out", "out.jsonl"},
			want: []string{"rows.csv:3", "expected 2 columns, got 1"},
		},
		{
			name:  "convert onto a directory",
			setup: func(t *testing.T, dir string) {},
			args:  []string{"data", "convert", "data/train.jsonl", "--to", "jsonl", "--out", "data"},
			want:  []string{"export data", "is a directory"},
		},
		{
			name:  "convert to an unknown format",
			setup: func(t *testing.T, dir string) {},
			args:  []string{"data", "convert", "data/train.jsonl", "--to", "xml", "--out", "out.jsonl"},
			want:  []string{`--to "xml"`, "openai-chat or jsonl"},
		},
		{
			name:  "unknown input format flag",
			setup: func(t *testing.T, dir string) {},
			args:  []string{"data", "stats", "data/train.jsonl", "--format", "xlsx"},
			want:  []string{"data/train.jsonl", `unknown format "xlsx"`},
		},
		{
			name:  "split ratios all zero",
			setup: func(t *testing.T, dir string) {},
			args:  []string{"data", "split", "data/train.jsonl", "--train", "0", "--validation", "0", "--test", "0", "--out", "parts"},
			want:  []string{"split ratios are all zero"},
		},
		{
			name:  "negative split ratio",
			setup: func(t *testing.T, dir string) {},
			args:  []string{"data", "split", "data/train.jsonl", "--train", "-0.5", "--out", "parts"},
			want:  []string{"split ratios", "from 0 up"},
		},
		{
			name:  "split over the lab's own test file",
			setup: func(t *testing.T, dir string) {},
			args:  []string{"data", "split", "data/train.jsonl", "--out", "data"},
			want:  []string{"data/train.jsonl is the file being split"},
		},
		{
			name:  "no API key",
			setup: func(t *testing.T, dir string) {},
			args:  []string{"eval", "--model", "openai:gpt-4o-mini"},
			want:  []string{"model openai:gpt-4o-mini", "no API key", "OPENAI_API_KEY"},
		},
		{
			name:  "split over existing files",
			setup: func(t *testing.T, dir string) {},
			args:  []string{"data", "split", "data/test.jsonl", "--out", "data", "--train", "0.5", "--test", "0.5", "--validation", "0"},
			want:  []string{"data/train.jsonl exists", "--force"},
		},
		{
			name:  "input column that is not there",
			setup: func(t *testing.T, dir string) {},
			args:  []string{"data", "split", "data/train.jsonl", "--input-field", "question", "--out", "parts"},
			want:  []string{"data/train.jsonl:1", `field "question": missing`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := newLab(t)
			tc.setup(t, dir)
			before := labSnapshot(t, dir)
			r := tunelab(t, dir, []string{"OPENAI_API_KEY="}, tc.args...)
			if r.code != 2 {
				t.Fatalf("exit code %d, want 2; stdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "tunelab: ") {
				t.Fatalf("last stderr line is not the error: %q", last)
			}
			for _, w := range tc.want {
				if !strings.Contains(last, w) {
					t.Errorf("error %q does not mention %q", last, w)
				}
			}
			after := labSnapshot(t, dir)
			for path, sum := range after {
				if before[path] != sum {
					t.Errorf("%s was written", path)
				}
			}
			for path := range before {
				if _, ok := after[path]; !ok {
					t.Errorf("%s was removed", path)
				}
			}
		})
	}
}

// labSnapshot maps every file and directory under dir to a hash of its
// content ("dir" for directories), to tell whether a command wrote,
// created or removed anything.
func labSnapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if d.IsDir() {
			out[rel] = "dir"
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		h := sha256.Sum256(b)
		out[rel] = hex.EncodeToString(h[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// replaceInLab edits a file of the lab, failing when old is not there so
// that a change to the example lab cannot make a case test nothing.
func replaceInLab(t *testing.T, dir, name, old, new string) {
	t.Helper()
	path := filepath.Join(dir, name)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", name, old)
	}
	writeText(t, path, strings.Replace(string(b), old, new, 1))
}

func writeText(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
