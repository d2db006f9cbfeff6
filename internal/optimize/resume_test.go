package optimize

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/store/sqlite"
)

// toyModel is one model that both answers tickets (labelModel) and, asked
// to rewrite instructions, proposes them (fakeProposer), as the ladder's
// search uses the model it optimises for both. It counts the calls it
// answers and, once it has answered stopAfter of them, cancels the search
// (stopAfter 0: never); a call that arrives after that is refused, as a
// killed process would never make it.
type toyModel struct {
	labels   *labelModel
	proposer *fakeProposer

	mu        sync.Mutex
	answered  int
	stopAfter int
	stop      context.CancelFunc
}

func (m *toyModel) Name() string { return "toy" }

func (m *toyModel) Complete(ctx context.Context, req provider.Request) (*provider.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var resp *provider.Response
	var err error
	if len(req.Messages) > 0 && strings.HasPrefix(req.Messages[0].Content, "You write instructions") {
		resp, err = m.proposer.Complete(ctx, req)
	} else {
		resp, err = m.labels.Complete(ctx, req)
	}
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.answered++
	if m.stopAfter > 0 && m.answered == m.stopAfter {
		m.stop()
	}
	return resp, nil
}

func (m *toyModel) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.answered
}

// runSearch runs the search the ladder runs, through ForTarget, against the
// store at dbPath, cancelled after stopAfter answered calls (0: never). It
// returns the outcome, the calls the model answered, those the cache
// answered, and the search's error.
func runSearch(t *testing.T, f fixture, dbPath string, stopAfter int) (Outcome, int, int, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlite.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := &toyModel{labels: &labelModel{truth: f.truth}, proposer: &fakeProposer{}, stopAfter: stopAfter, stop: cancel}
	target := eval.Target{Candidate: lab.Candidate{ID: "toy/zero", Model: "openai:toy"}, Provider: m}
	o, err := ForTarget(testTask, target, exactScorer{}, f.train, 4, st, true)
	if err != nil {
		t.Fatal(err)
	}
	out, err := o.Run(ctx, baseVariant, f.train, f.val, Options{Seed: 7, DemoSets: 4, Proposals: 3, K: 2})
	if cerr := o.Cached.Err(); cerr != nil {
		t.Fatalf("answers were not kept: %v", cerr)
	}
	if got := o.Cached.Calls(); got != m.count() {
		t.Errorf("the cache counted %d calls to the model, the model answered %d", got, m.count())
	}
	return out, m.count(), o.Cached.Hits(), err
}

// TestResumeSearch kills a search after some calls and runs it again on
// the same store: the second run pays only for the calls the first did
// not make, and finds exactly what an uninterrupted search finds.
func TestResumeSearch(t *testing.T) {
	f := newFixture()
	want, total, hits, err := runSearch(t, f, filepath.Join(t.TempDir(), "whole.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if hits != 0 || total != want.Calls {
		t.Fatalf("uninterrupted search: %d model calls and %d cache hits, outcome says %d calls", total, hits, want.Calls)
	}
	if want.BestScore <= want.BaseScore {
		t.Fatalf("the toy search found nothing better (%v against %v): the test would prove little", want.BestScore, want.BaseScore)
	}
	tests := []struct {
		name      string
		stopAfter int // 0: a complete first run
	}{
		{name: "killed after the first call", stopAfter: 1},
		{name: "killed during bootstrapping", stopAfter: total / 4},
		{name: "killed halfway", stopAfter: total / 2},
		{name: "killed before the last call", stopAfter: total - 1},
		{name: "run again after finishing", stopAfter: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(t.TempDir(), "lab.db")
			_, first, _, err := runSearch(t, f, db, tc.stopAfter)
			if tc.stopAfter > 0 {
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("first run: err %v, want it canceled", err)
				}
				if first < tc.stopAfter || first >= total {
					t.Fatalf("first run made %d calls, want from %d to %d", first, tc.stopAfter, total-1)
				}
			} else if err != nil || first != total {
				t.Fatalf("first run: %d calls, err %v; want %d, nil", first, err, total)
			}
			got, second, hits, err := runSearch(t, f, db, 0)
			if err != nil {
				t.Fatal(err)
			}
			if second != total-first {
				t.Errorf("second run made %d model calls, want %d (%d in all, %d made before)", second, total-first, total, first)
			}
			if hits != first {
				t.Errorf("second run took %d answers from the cache, want the %d made before", hits, first)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("resumed outcome differs from the uninterrupted one:\n got best %q %.3f, %d calls, %d trials\nwant best %q %.3f, %d calls, %d trials",
					got.Best.Instructions, got.BestScore, got.Calls, len(got.Trials), want.Best.Instructions, want.BestScore, want.Calls, len(want.Trials))
			}
		})
	}
}

// TestCachedProviderKeys checks what makes two requests the same answer:
// the model identity (a local model's file version included) and the
// request, as the evaluation runner keys them.
func TestCachedProviderKeys(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := &labelModel{truth: map[string]string{"ticket": "alpha"}}
	ask := func(text string) provider.Request {
		return provider.Request{Model: "toy", Messages: []provider.Message{{Role: "user", Content: text}}}
	}
	tests := []struct {
		name      string
		model     string
		req       provider.Request
		wantCalls int // calls the model has answered after this request
	}{
		{name: "first ask reaches the model", model: "local:toy@v1", req: ask("ticket"), wantCalls: 1},
		{name: "the same ask is answered from the cache", model: "local:toy@v1", req: ask("ticket"), wantCalls: 1},
		{name: "a retrained file is asked again", model: "local:toy@v2", req: ask("ticket"), wantCalls: 2},
		{name: "another question is asked", model: "local:toy@v1", req: ask("other ticket"), wantCalls: 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := NewCachedProvider(m, st, tc.model, func(s string) int { return len(strings.Fields(s)) })
			resp, err := c.Complete(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if m.calls != tc.wantCalls {
				t.Errorf("model answered %d calls, want %d", m.calls, tc.wantCalls)
			}
			// The runner's key: an evaluation of the same request would
			// find this answer, with its tokens counted.
			hit, ok, err := st.CacheGet(ctx, eval.CacheKey(tc.model, tc.req, -1))
			if err != nil || !ok || hit.Text != resp.Text {
				t.Fatalf("cache under the runner's key: %+v, %v, %v", hit, ok, err)
			}
			if hit.Usage.InputTokens == 0 {
				t.Errorf("cached answer has no input token count")
			}
		})
	}
}
