package eval

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/store/sqlite"
)

// echoModel answers with the last word of the user's message, so a case
// whose input ends with its expected label passes. It stands in for the
// model behind the Provider interface; the runner is what is under test.
type echoModel struct {
	calls   atomic.Int64
	fail    func(n int64, req provider.Request) error
	block   chan struct{} // when set, calls wait on it (or on ctx)
	started chan struct{}
}

func (m *echoModel) Name() string { return "echo" }

func (m *echoModel) Complete(ctx context.Context, req provider.Request) (*provider.Response, error) {
	n := m.calls.Add(1)
	if m.started != nil {
		select {
		case m.started <- struct{}{}:
		default:
		}
	}
	if m.block != nil {
		select {
		case <-m.block:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if m.fail != nil {
		if err := m.fail(n, req); err != nil {
			return nil, err
		}
	}
	last := req.Messages[len(req.Messages)-1].Content
	words := strings.Fields(last)
	return &provider.Response{Text: words[len(words)-1], Usage: provider.Usage{InputTokens: len(words), OutputTokens: 1}, Latency: time.Millisecond}, nil
}

type exactScorer struct{}

func (exactScorer) Name() string { return "exact" }
func (exactScorer) Score(_ context.Context, ex lab.Example, answer string) (lab.Score, error) {
	ok := answer == ex.Expected
	v := 0.0
	if ok {
		v = 1
	}
	return lab.Score{Value: v, Pass: ok}, nil
}

var testTask = lab.Task{Name: "t", Description: "Say the label.", Output: lab.OutputLabel, Labels: []string{"a", "b"}}

func testCases(n int) []lab.Example {
	out := make([]lab.Example, n)
	for i := range out {
		label := "a"
		if i%3 == 0 {
			label = "b"
		}
		// Every fifth case ends with the wrong label, so accuracy is 80%.
		last := label
		if i%5 == 4 {
			last = map[string]string{"a": "b", "b": "a"}[label]
		}
		out[i] = lab.Example{ID: fmt.Sprintf("c%03d", i), Input: fmt.Sprintf("ticket %d is about %s", i, last), Expected: label}
	}
	return out
}

func newTargets(t *testing.T, m provider.Provider, variants ...string) []Target {
	t.Helper()
	var out []Target
	for _, name := range variants {
		v := prompt.Expand(lab.Variant{Name: name, Template: name + ": {{.Input}}"}, testTask)
		v.Instructions = "" // keep the last word of the user turn the case's
		b, err := prompt.NewBuilder(testTask, v, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, Target{
			Candidate: lab.Candidate{ID: "echo/" + name, Model: "local:echo", Variant: v},
			Builder:   b, Provider: m,
			Price: func(in, out int, _ time.Duration) float64 { return float64(in+out) * 1e-6 },
		})
	}
	return out
}

func openStore(t *testing.T, path string) lab.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func runInfo(id string, targets []Target, cases, repeats int) lab.RunInfo {
	var cands []lab.Candidate
	for _, t := range targets {
		cands = append(cands, t.Candidate)
	}
	return lab.RunInfo{ID: id, Lab: "t", Dataset: "d1", Candidates: cands, Cases: cases, Repeats: repeats, PrimaryScorer: "exact"}
}

func TestRunScoresAndSummarizes(t *testing.T) {
	cases := []struct {
		name      string
		repeats   int
		wantCalls int64
	}{
		{"one repeat", 1, 2 * 20},
		{"three repeats are real calls", 3, 2 * 20 * 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t, filepath.Join(t.TempDir(), "db"))
			m := &echoModel{}
			targets := newTargets(t, m, "v1", "v2")
			run := runInfo("r1", targets, 20, tc.repeats)
			r := &Runner{Store: st, Scorers: []lab.Scorer{exactScorer{}}, Primary: "exact", Concurrency: 4}
			out, err := r.Run(context.Background(), run, targets, testCases(20))
			if err != nil {
				t.Fatal(err)
			}
			if m.calls.Load() != tc.wantCalls || out.Called != int(tc.wantCalls) {
				t.Errorf("calls = %d (outcome %d), want %d", m.calls.Load(), out.Called, tc.wantCalls)
			}
			res, err := st.Results(context.Background(), "r1")
			if err != nil {
				t.Fatal(err)
			}
			s := Summarize(run, res)
			if !s.Complete || len(s.Candidates) != 2 {
				t.Fatalf("summary incomplete: %+v", s)
			}
			for _, c := range s.Candidates {
				if c.Accuracy != 0.8 {
					t.Errorf("%s accuracy = %v, want 0.8", c.ID, c.Accuracy)
				}
				if !(c.CILow <= 0.8 && c.CIHigh >= 0.8 && c.CIHigh-c.CILow > 0) {
					t.Errorf("%s interval %v-%v does not hold 0.8", c.ID, c.CILow, c.CIHigh)
				}
				if tc.repeats > 1 && (c.Consistency == nil || *c.Consistency != 1) {
					t.Errorf("%s consistency = %v, want 1 (deterministic model)", c.ID, c.Consistency)
				}
				if c.CostPer1K <= 0 {
					t.Errorf("%s cost per 1k = %v, want > 0", c.ID, c.CostPer1K)
				}
			}
			second := s.Candidates[1]
			if second.VsBest == nil || second.VsBest.Significant || second.VsBest.Diff != 0 {
				t.Errorf("identical candidates must not differ significantly: %+v", second.VsBest)
			}
		})
	}
}

func TestRunResumesAndCaches(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	cs := testCases(30)

	// First run: cancel after some results are in.
	st := openStore(t, filepath.Join(dir, "db"))
	m := &echoModel{}
	targets := newTargets(t, m, "v1")
	run := runInfo("r1", targets, len(cs), 1)
	cctx, cancel := context.WithCancel(ctx)
	var saved atomic.Int64
	r := &Runner{Store: st, Scorers: []lab.Scorer{exactScorer{}}, Primary: "exact", Concurrency: 2,
		Progress: progressFunc(func(lab.CallResult) {
			if saved.Add(1) == 10 {
				cancel()
			}
		})}
	out, err := r.Run(cctx, run, targets, cs)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Canceled {
		t.Fatal("run was not reported as canceled")
	}
	partial, _ := st.Results(ctx, "r1")
	if len(partial) < 10 || len(partial) >= len(cs) {
		t.Fatalf("after cancel %d results saved, want between 10 and %d", len(partial), len(cs)-1)
	}

	// Resume: only the missing calls are made.
	before := m.calls.Load()
	r.Progress = nil
	out, err = r.Run(ctx, run, targets, cs)
	if err != nil {
		t.Fatal(err)
	}
	if out.Resumed != len(partial) || out.Resumed+out.Called+out.Cached != len(cs) {
		t.Errorf("resume outcome %+v, want %d resumed and the rest done", out, len(partial))
	}
	if made := m.calls.Load() - before; made > int64(len(cs)-len(partial)) {
		t.Errorf("resume made %d calls, want at most %d", made, len(cs)-len(partial))
	}
	full, _ := st.Results(ctx, "r1")
	if len(full) != len(cs) {
		t.Fatalf("after resume %d results, want %d", len(full), len(cs))
	}

	// A new run of the same requests is answered from the cache.
	before = m.calls.Load()
	run2 := runInfo("r2", targets, len(cs), 1)
	out, err = r.Run(ctx, run2, targets, cs)
	if err != nil {
		t.Fatal(err)
	}
	if m.calls.Load() != before || out.Cached != len(cs) {
		t.Errorf("second run made %d calls, %d cached; want 0 and %d", m.calls.Load()-before, out.Cached, len(cs))
	}
	again, _ := st.Results(ctx, "r2")
	s1, s2 := Summarize(run, full), Summarize(run2, again)
	if s1.Candidates[0].Accuracy != s2.Candidates[0].Accuracy {
		t.Errorf("cached run accuracy %v differs from original %v", s2.Candidates[0].Accuracy, s1.Candidates[0].Accuracy)
	}
}

func TestRunErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("unreachable model fails fast", func(t *testing.T) {
		st := openStore(t, filepath.Join(t.TempDir(), "db"))
		m := &echoModel{fail: func(int64, provider.Request) error {
			return &provider.Error{Provider: "echo", Message: "connection refused"}
		}}
		targets := newTargets(t, m, "v1")
		r := &Runner{Store: st, Scorers: []lab.Scorer{exactScorer{}}, Primary: "exact", Concurrency: 1}
		_, err := r.Run(ctx, runInfo("r", targets, 50, 1), targets, testCases(50))
		var mf *ModelFailedError
		if !errors.As(err, &mf) {
			t.Fatalf("err = %v, want ModelFailedError", err)
		}
		if m.calls.Load() > 5 {
			t.Errorf("made %d calls to a dead model, want it to stop after 3", m.calls.Load())
		}
	})
	t.Run("some errors are recorded and retried on resume", func(t *testing.T) {
		st := openStore(t, filepath.Join(t.TempDir(), "db"))
		var broken sync.Map
		m := &echoModel{fail: func(n int64, req provider.Request) error {
			last := req.Messages[len(req.Messages)-1].Content
			if n > 3 && n%4 == 0 {
				broken.Store(last, true)
				return &provider.Error{Provider: "echo", StatusCode: 500, Message: "boom"}
			}
			return nil
		}}
		targets := newTargets(t, m, "v1")
		run := runInfo("r", targets, 20, 1)
		r := &Runner{Store: st, Scorers: []lab.Scorer{exactScorer{}}, Primary: "exact", Concurrency: 1, NoCache: true}
		out, err := r.Run(ctx, run, targets, testCases(20))
		if err != nil {
			t.Fatal(err)
		}
		if out.Errors == 0 {
			t.Fatal("no errors recorded")
		}
		res, _ := st.Results(ctx, "r")
		s := Summarize(run, res)
		if s.Candidates[0].Errors != out.Errors || s.Candidates[0].ErrorRate == 0 {
			t.Errorf("summary errors %d rate %v, want %d", s.Candidates[0].Errors, s.Candidates[0].ErrorRate, out.Errors)
		}
		m.fail = nil
		out2, err := r.Run(ctx, run, targets, testCases(20))
		if err != nil {
			t.Fatal(err)
		}
		if out2.Called != out.Errors || out2.Errors != 0 {
			t.Errorf("resume redid %d calls with %d errors, want %d and 0", out2.Called, out2.Errors, out.Errors)
		}
	})
}

// progressFunc adapts a function to Progress.
type progressFunc func(lab.CallResult)

func (f progressFunc) Start(int, int)        {}
func (f progressFunc) Done(r lab.CallResult) { f(r) }
func (f progressFunc) Finish()               {}
