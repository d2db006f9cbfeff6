package main

import (
	"bufio"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
)

func writeLab(t *testing.T, cases int) string {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(7, 0))
	l := layout{dir: dir, baseURL: "http://127.0.0.1:9/v1", concurrency: 16, train: synth(r, "train", 5), test: synth(r, "test", cases)}
	if err := l.write(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSameRequests checks the point of the benchmark: for every case, the
// messages tunelab renders from its config equal the messages promptfoo
// renders from its prompt files.
func TestSameRequests(t *testing.T) {
	dir := writeLab(t, 20)
	cfg, err := config.Load(filepath.Join(dir, "tunelab", config.FileName))
	if err != nil {
		t.Fatalf("the generated tunelab.yaml does not load: %v", err)
	}
	if cfg.Concurrency != 16 || len(cfg.Models) != 1 || cfg.Models[0].Model != "openai-compatible:http://127.0.0.1:9/v1#bench" {
		t.Errorf("config: concurrency %d, models %+v", cfg.Concurrency, cfg.Models)
	}
	var test []example
	for _, line := range readLines(t, filepath.Join(dir, "tunelab", "data", "test.jsonl")) {
		var ex example
		if err := json.Unmarshal([]byte(line), &ex); err != nil {
			t.Fatal(err)
		}
		test = append(test, ex)
	}
	if len(test) != 20 {
		t.Fatalf("%d test cases, want 20", len(test))
	}
	files := map[string]string{"plain": "plain.json", "role": "role.json"}
	if len(cfg.Prompts) != len(files) {
		t.Fatalf("%d tunelab prompts, want %d", len(cfg.Prompts), len(files))
	}
	for _, p := range cfg.Prompts {
		t.Run(p.Name, func(t *testing.T) {
			v := prompt.Expand(lab.Variant{Name: p.Name, Technique: p.Technique, System: p.System, Instructions: p.Instructions, Template: p.Template}, cfg.LabTask())
			b, err := prompt.NewBuilder(cfg.LabTask(), v, nil)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := os.ReadFile(filepath.Join(dir, "promptfoo", "prompts", files[p.Name]))
			if err != nil {
				t.Fatal(err)
			}
			var pf []struct{ Role, Content string }
			if err := json.Unmarshal(raw, &pf); err != nil {
				t.Fatalf("promptfoo prompt is not a JSON chat: %v", err)
			}
			for _, ex := range test {
				msgs, err := b.Messages(lab.Example{ID: ex.ID, Input: ex.Input, Expected: ex.Expected})
				if err != nil {
					t.Fatal(err)
				}
				if len(msgs) != len(pf) {
					t.Fatalf("%s: tunelab sends %d messages, promptfoo %d", ex.ID, len(msgs), len(pf))
				}
				for i, m := range msgs {
					want := strings.ReplaceAll(pf[i].Content, "{{input}}", ex.Input)
					if m.Role != pf[i].Role || m.Content != want {
						t.Errorf("%s message %d:\ntunelab   %s: %q\npromptfoo %s: %q", ex.ID, i, m.Role, m.Content, pf[i].Role, want)
					}
				}
			}
		})
	}
}

func TestPromptfooTests(t *testing.T) {
	dir := writeLab(t, 30)
	tl := readLines(t, filepath.Join(dir, "tunelab", "data", "test.jsonl"))
	pf := readLines(t, filepath.Join(dir, "promptfoo", "tests.jsonl"))
	if len(pf) != len(tl) {
		t.Fatalf("promptfoo has %d tests, tunelab %d", len(pf), len(tl))
	}
	for i := range tl {
		var ex example
		var tc struct {
			Description string
			Vars        map[string]string
			Assert      []struct{ Type, Value string }
		}
		if err := json.Unmarshal([]byte(tl[i]), &ex); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(pf[i]), &tc); err != nil {
			t.Fatal(err)
		}
		if tc.Description != ex.ID || tc.Vars["input"] != ex.Input || len(tc.Assert) != 1 || tc.Assert[0].Type != "equals" || tc.Assert[0].Value != ex.Expected {
			t.Errorf("line %d: promptfoo test %+v does not match tunelab case %+v", i+1, tc, ex)
		}
		if !slices.Contains(labels(), ex.Expected) {
			t.Errorf("line %d: expected %q is not a label", i+1, ex.Expected)
		}
		// promptfoo renders the input with a template engine; template
		// syntax in the data would change what it sends.
		if strings.ContainsAny(ex.Input, "{}%\"\n") {
			t.Errorf("line %d: input %q holds characters a template engine or JSON would treat specially", i+1, ex.Input)
		}
	}
}

func TestSynthDeterministic(t *testing.T) {
	cases := []struct {
		name       string
		seedA      uint64
		seedB      uint64
		wantEquals bool
	}{
		{"same seed", 7, 7, true},
		{"other seed", 7, 8, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := synth(rand.New(rand.NewPCG(tc.seedA, 0)), "test", 50)
			b := synth(rand.New(rand.NewPCG(tc.seedB, 0)), "test", 50)
			if slices.Equal(a, b) != tc.wantEquals {
				t.Errorf("equal = %v, want %v", !tc.wantEquals, tc.wantEquals)
			}
		})
	}
}
