package queue

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/store/postgres"
	"github.com/tunelab/tunelab/internal/store/postgres/pgtest"
)

// lastWord answers with the last word of the prompt, so a case whose input
// ends with its label passes. It counts calls per prompt to find calls
// made twice.
type lastWord struct {
	mu    sync.Mutex
	calls map[string]int
	fail  bool
}

func (m *lastWord) Name() string { return "lastword" }

func (m *lastWord) Complete(_ context.Context, req provider.Request) (*provider.Response, error) {
	last := req.Messages[len(req.Messages)-1].Content
	m.mu.Lock()
	if m.calls == nil {
		m.calls = map[string]int{}
	}
	m.calls[last]++
	m.mu.Unlock()
	if m.fail {
		return nil, &provider.Error{Provider: "lastword", StatusCode: 401, Message: "bad key"}
	}
	w := strings.Fields(last)
	return &provider.Response{Text: w[len(w)-1], Usage: provider.Usage{InputTokens: len(w), OutputTokens: 1}, Latency: time.Millisecond}, nil
}

type exact struct{}

func (exact) Name() string { return "exact" }
func (exact) Score(_ context.Context, ex lab.Example, answer string) (lab.Score, error) {
	return lab.Score{Pass: answer == ex.Expected, Value: map[bool]float64{true: 1}[answer == ex.Expected]}, nil
}

var task = lab.Task{Name: "t", Description: "Say the label.", Output: lab.OutputLabel, Labels: []string{"a", "b"}}

// fixture is a lab in miniature: a store, candidates and cases, and what a
// worker needs to run them.
type fixture struct {
	dsn     string
	store   lab.Store
	model   *lastWord
	targets []eval.Target
	cases   []lab.Example
	run     lab.RunInfo
}

func newFixture(t testing.TB, cases int, variants ...string) *fixture {
	t.Helper()
	f := &fixture{dsn: pgtest.DSN(t), model: &lastWord{}}
	st, err := postgres.Open(context.Background(), f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f.store = st
	for _, name := range variants {
		v := lab.Variant{Name: name, Template: name + ": {{.Input}}"}
		b, err := prompt.NewBuilder(task, v, nil)
		if err != nil {
			t.Fatal(err)
		}
		f.targets = append(f.targets, eval.Target{Candidate: lab.Candidate{ID: "m/" + name, Model: "local:m", Variant: v}, Builder: b, Provider: f.model})
		f.run.Candidates = append(f.run.Candidates, f.targets[len(f.targets)-1].Candidate)
	}
	for i := 0; i < cases; i++ {
		label := []string{"a", "b"}[i%2]
		if i%4 == 3 { // every fourth case ends with the wrong label
			label = "a"
		}
		f.cases = append(f.cases, lab.Example{ID: fmt.Sprintf("c%04d", i), Input: fmt.Sprintf("case %d says %s", i, []string{"a", "b"}[i%2]), Expected: label})
	}
	f.run.ID, f.run.Cases, f.run.Repeats, f.run.PrimaryScorer = "run-q", cases, 1, "exact"
	return f
}

func (f *fixture) runner() *eval.Runner {
	return &eval.Runner{Store: f.store, Scorers: []lab.Scorer{exact{}}, Primary: "exact"}
}

func (f *fixture) prepare(context.Context, lab.RunInfo) (*eval.Prepared, error) {
	p := &eval.Prepared{Targets: map[string]*eval.Target{}, Cases: map[string]lab.Example{}}
	for i := range f.targets {
		p.Targets[f.targets[i].Candidate.ID] = &f.targets[i]
	}
	for _, ex := range f.cases {
		p.Cases[ex.ID] = ex
	}
	return p, nil
}

// worker opens a queue that works calls, as `tunelab worker` does.
func (f *fixture) worker(t testing.TB, conc int, prepare func(context.Context, lab.RunInfo) (*eval.Prepared, error), done func(lab.CallResult, error)) *Queue {
	t.Helper()
	q, err := Open(context.Background(), f.dsn, Options{Exec: &eval.Executor{Runner: f.runner(), Prepare: prepare}, Concurrency: conc, Done: done})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := q.Stop(5 * time.Second); err != nil {
			t.Error(err)
		}
		q.Close()
	})
	return q
}

func (f *fixture) coordinator(t testing.TB) *Queue {
	t.Helper()
	q, err := Open(context.Background(), f.dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q
}

func TestDistributedRunMatchesOneProcess(t *testing.T) {
	f := newFixture(t, 120, "plain", "polite")
	f.worker(t, 4, f.prepare, nil)
	f.worker(t, 4, f.prepare, nil)
	q := f.coordinator(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	out, err := f.runner().Distribute(ctx, f.run, f.targets, f.cases, q, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if out.Total != 240 || out.Called+out.Cached != 240 || out.Errors != 0 || out.Resumed != 0 {
		t.Fatalf("outcome = %+v; want 240 calls, all made, no errors", out)
	}
	results, err := f.store.Results(ctx, f.run.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 240 {
		t.Fatalf("%d results; want 240", len(results))
	}
	pass := 0
	for _, r := range results {
		if r.Pass {
			pass++
		}
	}
	if pass != 180 { // three cases in four pass, for each candidate
		t.Errorf("%d passes; want 180", pass)
	}
	for prompt, n := range f.model.calls {
		if n != 1 {
			t.Errorf("prompt %q reached the model %d times; want once", prompt, n)
		}
	}
	if info, err := f.store.Run(ctx, f.run.ID); err != nil || info.Status != lab.RunDone {
		t.Errorf("run status = %q, %v; want done", info.Status, err)
	}

	again, err := f.runner().Distribute(ctx, f.run, f.targets, f.cases, q, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if again.Resumed != 240 || again.Called != 0 {
		t.Errorf("second distribute = %+v; want everything resumed", again)
	}
}

func TestEnqueueAddsAnUnfinishedCallOnce(t *testing.T) {
	f := newFixture(t, 3, "plain")
	q := f.coordinator(t)
	ctx := context.Background()
	calls := []eval.Call{{Run: "r1", Candidate: "m/plain", Case: "c0000"}, {Run: "r1", Candidate: "m/plain", Case: "c0001"}, {Run: "r1", Candidate: "m/plain", Case: "c0001", Repeat: 1}}
	for range 3 {
		if err := q.Enqueue(ctx, calls); err != nil {
			t.Fatal(err)
		}
	}
	got, err := q.Counts(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if got != (eval.QueueCounts{Waiting: 3}) {
		t.Errorf("counts = %+v; want 3 waiting", got)
	}
	if other, _ := q.Counts(ctx, "r2"); other != (eval.QueueCounts{}) {
		t.Errorf("another run's counts = %+v; want none", other)
	}
}

func TestFailingModelCancelsTheRun(t *testing.T) {
	f := newFixture(t, 200, "plain")
	f.model.fail = true
	f.worker(t, 2, f.prepare, nil)
	q := f.coordinator(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := f.runner().Distribute(ctx, f.run, f.targets, f.cases, q, 20*time.Millisecond)
	var mf *eval.ModelFailedError
	if !errors.As(err, &mf) || mf.Model != "local:m" {
		t.Fatalf("err = %v; want the model's failure", err)
	}
	// The workers drop the rest of the run's calls.
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := q.Counts(ctx, f.run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Active() == 0 {
			if c.GaveUp == 0 {
				t.Errorf("counts = %+v; want the remaining calls canceled", c)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("calls still active after the run was canceled: %+v", c)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(f.model.calls); n >= 200 {
		t.Errorf("the model got %d calls; want the run stopped early", n)
	}
}

func TestWorkerOfAnotherLabRefuses(t *testing.T) {
	f := newFixture(t, 5, "plain")
	got := make(chan error, 10)
	f.worker(t, 1, func(_ context.Context, run lab.RunInfo) (*eval.Prepared, error) {
		return nil, &eval.LabMismatchError{Run: run.ID}
	}, func(_ lab.CallResult, err error) { got <- err })
	q := f.coordinator(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go f.runner().Distribute(ctx, f.run, f.targets, f.cases, q, 20*time.Millisecond) //nolint:errcheck // followed until the context ends
	select {
	case err := <-got:
		var mm *eval.LabMismatchError
		if !errors.As(err, &mm) || !strings.Contains(err.Error(), "same lab") {
			t.Errorf("worker said %v; want a lab mismatch telling what to do", err)
		}
	case <-ctx.Done():
		t.Fatal("the worker never took a call")
	}
	if len(f.model.calls) != 0 {
		t.Errorf("the model got %d calls from a worker of another lab", len(f.model.calls))
	}
}
