package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// smallLadderLab is the example lab cut down so the ladder takes seconds:
// a generated tiny base, forty training rows, two prompt variants, five
// test cases, one epoch.
func smallLadderLab(t *testing.T) string {
	t.Helper()
	dir := newLab(t)
	tinyBase(t, dir)
	path := filepath.Join(dir, "tunelab.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := string(raw)
	start, end := strings.Index(cfg, "prompts:"), strings.Index(cfg, "scorers:")
	cfg = cfg[:start] + "prompts:\n  - technique: zero-shot\n  - technique: json\n\n" + cfg[end:]
	cfg = strings.Replace(cfg, "  - local:base\n", "  - local:tiny\n", 1)
	cfg = strings.Replace(cfg, "  base: local:base\n", "  base: local:tiny\n  max_tokens: 1024\n", 1)
	cfg = strings.Replace(cfg, "  epochs: 4\n", "  epochs: 1\n", 1)
	cfg = strings.Replace(cfg, "  test: data/test.jsonl\n", "  test: data/test.jsonl\n  limit: 5\n", 1)
	cfg = strings.Replace(cfg, "  max_tokens: 64\n", "  max_tokens: 8\n", 1)
	// One chunk per question keeps prompts short for the tiny model.
	cfg = strings.Replace(cfg, "  k: 3 ", "  k: 1 ", 1)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// Six knowledge questions are enough to show the RAG rung works.
	qpath := filepath.Join(dir, "data", "questions.jsonl")
	qs, err := os.ReadFile(qpath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(qpath, []byte(strings.Join(strings.SplitAfter(string(qs), "\n")[:6], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	// Forty training rows are enough to show the rung works.
	train := filepath.Join(dir, "data", "train.jsonl")
	rows, err := os.ReadFile(train)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(rows), "\n")
	if err := os.WriteFile(train, []byte(strings.Join(lines[:40], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLadder(t *testing.T) {
	dir := smallLadderLab(t)
	r := tunelab(t, dir, nil, "ladder")
	if r.code != 0 {
		t.Fatalf("ladder exit %d: %s", r.code, r.stderr)
	}
	var v struct {
		Rungs   []struct{ Name, Status, Detail string }
		Verdict struct {
			Pick    string
			Reasons []string
			Options []struct{ ID string }
		}
		TuningJob string `json:"tuning_job"`
		Knowledge struct {
			Questions int
			K         int
			Recall    float64 `json:"recall_at_k"`
			Models    []struct {
				Model   string
				Without string `json:"without_candidate"`
				With    string `json:"with_candidate"`
			}
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, "ladder", "verdict.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, rg := range v.Rungs {
		status[rg.Name] = rg.Status
	}
	cases := []struct{ rung, want string }{
		{"prompting", "ran"}, {"prompt optimisation", "ran"}, {"fine-tuning", "ran"}, {"tuned model", "ran"},
		{"retrieval (RAG)", "ran"},
	}
	for _, tc := range cases {
		if status[tc.rung] != tc.want {
			t.Errorf("rung %q: %q, want %q", tc.rung, status[tc.rung], tc.want)
		}
	}
	// 2 models (base and tuned) x 2 prompts, and the optimised prompt
	// when the search found one better than the first.
	if n := len(v.Verdict.Options); (n != 4 && n != 6) || v.Verdict.Pick == "" || len(v.Verdict.Reasons) == 0 || v.TuningJob == "" {
		t.Fatalf("verdict: %d options, pick %q, %d reasons, job %q", len(v.Verdict.Options), v.Verdict.Pick, len(v.Verdict.Reasons), v.TuningJob)
	}
	// The RAG rung asks the questions of the base and the tuned model,
	// each with and without retrieval; BM25 finds most questions' page.
	k := v.Knowledge
	if k.Questions != 6 || k.K != 1 || len(k.Models) != 2 || k.Recall < 0.5 || !strings.HasSuffix(k.Models[0].With, "+rag") {
		t.Errorf("knowledge evidence: %+v", k)
	}
	html, err := os.ReadFile(filepath.Join(dir, "ladder", "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Verdict: ", "Fine-tuning loss", "Monthly cost against volume", "Retrieval (RAG) on knowledge questions", "retrieved: knowledge/"} {
		if !strings.Contains(string(html), want) {
			t.Errorf("report.html has no %q section", want)
		}
	}

	t.Run("a second run reuses everything", func(t *testing.T) {
		r := tunelab(t, dir, nil, "ladder")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "fine-tuning          reused") || !strings.Contains(r.stderr, "prompt optimisation  reused") ||
			!strings.Contains(r.stderr, "retrieval (RAG)      reused") || !strings.Contains(r.stderr, " 0 sent") {
			t.Errorf("second run did work again:\n%s", r.stderr)
		}
	})
}
