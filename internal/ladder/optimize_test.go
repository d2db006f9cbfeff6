package ladder

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/optimize"
	_ "github.com/tunelab/tunelab/internal/provider/openai" // the lab's model is behind an OpenAI-compatible server
	"github.com/tunelab/tunelab/internal/provider/providertest"
	"github.com/tunelab/tunelab/internal/workspace"
)

// toyServer stands in for the model behind an OpenAI-compatible server.
// It routes a ticket right only when the prompt helps: instructions that
// say ROUTE-WELL help with alpha tickets, and a demonstration answered
// with the ticket's label helps with any. It counts the calls it answers
// and can stop a run: its stopAt-th call cancels the run's context and
// fails, as a killed process never receives that answer.
type toyServer struct {
	truth map[string]string // input -> label

	mu       sync.Mutex
	answered int
	texts    []string // every prompt answered, flattened
	stopAt   int
	stopped  bool
	cancel   context.CancelFunc
}

func (s *toyServer) reset(stopAt int, cancel context.CancelFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answered, s.texts, s.stopAt, s.stopped, s.cancel = 0, nil, stopAt, false, cancel
}

func (s *toyServer) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.answered
}

func (s *toyServer) saw(marker string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.texts {
		if strings.Contains(t, marker) {
			return true
		}
	}
	return false
}

func (s *toyServer) answer(req providertest.ChatRequest) (string, *providertest.HTTPError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || (s.stopAt > 0 && s.answered+1 == s.stopAt) {
		if !s.stopped {
			s.stopped = true
			s.cancel()
		}
		return "", &providertest.HTTPError{Status: 503, Message: "the run was stopped"}
	}
	s.answered++
	all := req.System
	demos := map[string]bool{}
	for _, m := range req.Messages {
		all += "\n" + m.Content
		if m.Role == "assistant" {
			demos[strings.TrimSpace(m.Content)] = true
		}
	}
	s.texts = append(s.texts, all)
	if strings.HasPrefix(req.System, "You write instructions") {
		return "Name the queue for the ticket.", nil
	}
	last := req.Messages[len(req.Messages)-1].Content
	truth := ""
	for in, label := range s.truth {
		if strings.Contains(last, in) {
			truth = label
		}
	}
	if (truth == "alpha" && strings.Contains(all, "ROUTE-WELL")) || demos[truth] {
		return truth, nil
	}
	if truth == "alpha" {
		return "beta", nil
	}
	return "alpha", nil
}

// toyLab writes a lab whose model is srv: 40 train tickets (a quarter
// carved off for validation), a zero-shot prompt first, a better one
// second, and a retrieval prompt that the search must not start from.
func toyLab(t *testing.T, srv *providertest.Server, truth map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	var train, test strings.Builder
	for i := 0; i < 44; i++ {
		label := "alpha"
		if i%2 == 1 {
			label = "beta"
		}
		in := fmt.Sprintf("ticket-%03d needs routing", i)
		truth[in] = label
		line := fmt.Sprintf("{\"id\":\"t%03d\",\"input\":%q,\"expected\":%q}\n", i, in, label)
		if i < 40 {
			train.WriteString(line)
		} else {
			test.WriteString(line)
		}
	}
	cfg := fmt.Sprintf(`task:
  name: toy
  description: Route each ticket to its queue.
  labels: [alpha, beta]
data:
  train: train.jsonl
  test: test.jsonl
  split: {validation: 0.25, seed: 3}
knowledge: [docs/]
models:
  - openai-compatible:%s#toy
prompts:
  - technique: zero-shot
  - name: routed
    technique: instructions
    instructions: "ROUTE-WELL: name the queue."
  - name: looked-up
    technique: instructions
    instructions: "LOOK-IT-UP: name the queue."
    retrieval: true
params:
  temperature: 0
concurrency: 1
`, srv.URL)
	files := map[string]string{
		config.FileName: cfg, "train.jsonl": train.String(), "test.jsonl": test.String(),
		"docs/queues.md": "# Queues\n\nAlpha handles billing. Beta handles shipping.\n",
	}
	for name, text := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

type rungRecord struct{ status, detail string }

// climb runs the optimisation rung once on the lab in dir.
func climb(ctx context.Context, t *testing.T, dir string) (*config.PromptSpec, rungRecord, error) {
	t.Helper()
	w, err := workspace.Open(ctx, dir, workspace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var rec rungRecord
	p, err := optimizeRung(ctx, w, func(name, status, format string, args ...any) {
		rec = rungRecord{status, fmt.Sprintf(format, args...)}
	})
	return p, rec, err
}

// TestOptimizeRung checks that the search starts from the hand-written
// prompt that scores best on validation, not the first one, says so, and
// that a second ladder run pays for nothing.
func TestOptimizeRung(t *testing.T) {
	s := &toyServer{truth: map[string]string{}}
	srv := providertest.NewOpenAIServer(t, providertest.Text(s.answer))
	dir := toyLab(t, srv, s.truth)
	s.reset(0, nil)

	p, rec, err := climb(context.Background(), t, dir)
	if err != nil {
		t.Fatal(err)
	}
	first := s.count()
	t.Logf("%d calls; rung: %s", first, rec.detail)
	checks := []struct {
		name string
		ok   bool
	}{
		{"the rung ran", rec.status == Ran},
		{"it starts from the better prompt, not the first", strings.Contains(rec.detail, `from "routed", the best of 2 hand-written prompts on validation`)},
		// 10 validation tickets, half alpha: routed gets the alpha ones.
		{"it cites the scores it chose by", strings.Contains(rec.detail, "routed 50.0%, zero-shot 0.0%; 20 calls")},
		{"it found a better prompt", p != nil && strings.Contains(rec.detail, "50.0% -> 100.0% on validation")},
		{"the optimised prompt keeps the start's instructions", p != nil && strings.Contains(p.Instructions, "ROUTE-WELL")},
		{"the search's first trial was the start, answered from the cache", strings.Contains(rec.detail, "10 of ")},
		{"the retrieval prompt was never measured", !s.saw("LOOK-IT-UP")},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: rung %q (%s), prompt %+v", c.name, rec.detail, rec.status, p)
		}
	}

	again, rec2, err := climb(context.Background(), t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.count() - first; n != 0 || rec2.status != Reused {
		t.Errorf("second run: %d model calls, status %s; want 0, %s", n, rec2.status, Reused)
	}
	if !reflect.DeepEqual(again, p) {
		t.Errorf("second run found %+v, first %+v", again, p)
	}
}

// TestOptimizeRungResumes kills the rung partway, while it measures the
// prompts and during the search, and runs it again: the second run pays
// only for the calls the first did not get answered, and finds what an
// uninterrupted run finds.
func TestOptimizeRungResumes(t *testing.T) {
	s := &toyServer{truth: map[string]string{}}
	srv := providertest.NewOpenAIServer(t, providertest.Text(s.answer))
	s.reset(0, nil)
	want, wantRec, err := climb(context.Background(), t, toyLab(t, srv, s.truth))
	if err != nil {
		t.Fatal(err)
	}
	total := s.count()
	tests := []struct {
		name   string
		stopAt int // the call that is never answered
	}{
		{name: "killed while measuring the prompts", stopAt: 7},
		{name: "killed during the search", stopAt: 60},
		{name: "killed before the last call", stopAt: total},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := toyLab(t, srv, s.truth)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s.reset(tc.stopAt, cancel)
			if _, _, err := climb(ctx, t, dir); err == nil {
				t.Fatal("the stopped run reported no error")
			}
			made := s.count()
			if made != tc.stopAt-1 {
				t.Fatalf("stopped run had %d calls answered, want %d", made, tc.stopAt-1)
			}
			s.reset(0, nil)
			got, rec, err := climb(context.Background(), t, dir)
			if err != nil {
				t.Fatal(err)
			}
			if n := s.count(); n != total-made {
				t.Errorf("second run made %d model calls, want %d (%d in all, %d answered before)", n, total-made, total, made)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("resumed run found %+v, an uninterrupted one %+v", got, want)
			}
			cut := func(s string) string { return s[:strings.LastIndex(s, " calls")] }
			if cut(rec.detail) != cut(wantRec.detail) {
				t.Errorf("resumed rung says %q, an uninterrupted one %q", rec.detail, wantRec.detail)
			}
		})
	}
}

// TestOutcomeRoundTrip checks that a stored outcome reads back as the
// outcome that was stored, byte for byte in the variant's JSON schema: a
// ladder run that reuses the search must evaluate the very prompt the
// first run did.
func TestOutcomeRoundTrip(t *testing.T) {
	cases := []struct {
		name   string
		schema string
	}{
		{"compact schema", `{"properties":{"answer":{"enum":["a","b"],"type":"string"}},"required":["answer"],"type":"object"}`},
		{"no schema", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := optimize.Outcome{Best: lab.Variant{Name: optimize.BestName, Technique: lab.TechOptimized, Instructions: "Route it.", AnswerField: "answer"}, BestScore: 0.5, Calls: 12}
			if tc.schema != "" {
				in.Best.JSONSchema = json.RawMessage(tc.schema)
			}
			raw, err := encodeOutcome(in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := decodeOutcome(raw)
			if err != nil {
				t.Fatal(err)
			}
			if string(out.Best.JSONSchema) != tc.schema {
				t.Errorf("schema read back as %s, want %s", out.Best.JSONSchema, tc.schema)
			}
			if !reflect.DeepEqual(promptSpecOf(out.Best), promptSpecOf(in.Best)) {
				t.Errorf("variant read back as %+v, want %+v", out.Best, in.Best)
			}
		})
	}
}
