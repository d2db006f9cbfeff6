package storetest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
)

func checkResults(t *testing.T, got, want []lab.CallResult) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d results %v, want %d %v", len(got), keys(got), len(want), keys(want))
	}
	for i := range want {
		g, w := got[i], normResult(want[i])
		if !g.CreatedAt.Equal(w.CreatedAt) {
			t.Errorf("result %d CreatedAt = %v, want %v (microsecond precision)", i, g.CreatedAt, w.CreatedAt)
		}
		if g.CreatedAt.Location() != time.UTC {
			t.Errorf("result %d CreatedAt is in %v, want UTC", i, g.CreatedAt.Location())
		}
		g.CreatedAt, w.CreatedAt = time.Time{}, time.Time{}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("result %d round-trip:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func testResultRoundTrip(t *testing.T, h *harness) {
	failed := sampleResult("r", "c", "failed", 0)
	failed.Output, failed.Answer, failed.Pass, failed.Cached = "", "", false, false
	failed.Scores = nil
	failed.Error = "openai: HTTP 429: Rate limit reached for gpt-4o-mini in organization org-… on tokens per min.\n\tretry after 20s; 'quoted' \"too\""
	failed.Attempts, failed.ErrorKind = 5, "rate_limited"

	emptyScores := sampleResult("r", "c", "empty-scores", 0)
	emptyScores.Scores = map[string]lab.Score{}

	extremes := sampleResult("r", "c", "extremes", 1<<40)
	extremes.TokensIn, extremes.TokensOut = math.MaxInt32+1, 0
	extremes.LatencyMS, extremes.Cost = 1e-300, math.MaxFloat64
	extremes.Scores = map[string]lab.Score{"tiny": {Value: math.SmallestNonzeroFloat64}, "third": {Value: 1.0 / 3}}
	extremes.CreatedAt = time.Time{}

	withNUL := sampleResult("r", "c", "nul", 0)
	withNUL.Output, withNUL.Answer, withNUL.Error = "a\x00b", "\x00", "cut\x00"
	withNUL.Scores = map[string]lab.Score{"label": {Value: 0, Reason: "got \"\x00\""}}

	// PostgreSQL cannot hold NUL in text: both stores keep U+FFFD.
	nulWant := withNUL
	nulWant.Output, nulWant.Answer, nulWant.Error = "a\uFFFDb", "\uFFFD", "cut\uFFFD"
	nulWant.Scores = map[string]lab.Score{"label": {Value: 0, Reason: "got \"\uFFFD\""}}

	tests := []struct {
		name string
		r    lab.CallResult
		want *lab.CallResult // nil: r itself
	}{
		{"full", sampleResult("r", "c", "full", 0), nil},
		{"error without scores", failed, nil},
		{"empty scores map", emptyScores, nil},
		{"extreme numbers and zero time", extremes, nil},
		{"negative repeat and odd ids", sampleResult("r", "c/ü 1", "case\t'2'", -1), nil},
		{"NUL characters", withNUL, &nulWant},
	}
	s := h.store(t)
	mustSaveRun(t, s, sampleRun("r", base))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mustSaveResult(t, s, tc.r)
			var got []lab.CallResult
			for _, r := range mustResults(t, s, "r") {
				if r.Key() == tc.r.Key() {
					got = append(got, r)
				}
			}
			want := tc.r
			if tc.want != nil {
				want = *tc.want
			}
			checkResults(t, got, []lab.CallResult{want})
		})
	}
}

func testResultUpsert(t *testing.T, h *harness) {
	s := h.store(t)
	mustSaveRun(t, s, sampleRun("r", base))
	first := sampleResult("r", "c", "x", 0)
	first.Error = "context deadline exceeded"
	mustSaveResult(t, s, first)
	mustSaveResult(t, s, first) // the same record again: still one
	// The later save changes every field but the key: each must be replaced.
	later := first
	later.Output, later.Answer, later.Pass = "Answer: shipping", "shipping", false
	later.Scores = map[string]lab.Score{"label": {Value: 0, Reason: "expected billing"}}
	later.LatencyMS, later.TokensIn, later.TokensOut, later.Cost = 90.5, 12, 3, 0.5
	later.Error, later.Attempts, later.Cached = "", 1, false
	later.CreatedAt = base.Add(time.Minute)
	mustSaveResult(t, s, later)
	other := sampleResult("r", "c", "x", 1) // a different repeat is a different record
	mustSaveResult(t, s, other)
	checkResults(t, mustResults(t, s, "r"), []lab.CallResult{later, other})
}

func testResultOrder(t *testing.T, h *harness) {
	// IDs where bytewise order differs from numeric and from most
	// locale collations: upper before lower case, "10" before "2",
	// punctuation and non-ASCII.
	cands := []string{"b", "B", "a", "a-b", "a_b", "é"}
	cases := []string{"case-10", "case-2", "Case-3", "case_1", "case 0"}
	repeats := []int{10, 2, 0}
	var want []lab.CallResult
	for _, c := range cands {
		for _, k := range cases {
			for _, rep := range repeats {
				want = append(want, sampleResult("r", c, k, rep))
			}
		}
	}
	s := h.store(t)
	mustSaveRun(t, s, sampleRun("r", base))
	shuffled := append([]lab.CallResult(nil), want...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	})
	for _, r := range shuffled {
		mustSaveResult(t, s, r)
	}
	sort.Slice(want, func(i, j int) bool {
		a, b := want[i], want[j]
		if a.CandidateID != b.CandidateID {
			return a.CandidateID < b.CandidateID
		}
		if a.CaseID != b.CaseID {
			return a.CaseID < b.CaseID
		}
		return a.Repeat < b.Repeat
	})
	got := mustResults(t, s, "r")
	if !reflect.DeepEqual(keys(got), keys(want)) {
		t.Fatalf("order:\n got %v\nwant %v", keys(got), keys(want))
	}
	checkResults(t, got, want)
	if again := mustResults(t, s, "r"); !reflect.DeepEqual(keys(again), keys(got)) {
		t.Fatalf("a second read returned another order: %v", keys(again))
	}
}

func testResultsIsolated(t *testing.T, h *harness) {
	s := h.store(t)
	mustSaveRun(t, s, sampleRun("r1", base))
	mustSaveRun(t, s, sampleRun("r2", base))
	a := sampleResult("r1", "c", "x", 0)
	b := sampleResult("r2", "c", "x", 0)
	b.Answer = "other run"
	mustSaveResult(t, s, a)
	mustSaveResult(t, s, b)
	checkResults(t, mustResults(t, s, "r1"), []lab.CallResult{a})
	checkResults(t, mustResults(t, s, "r2"), []lab.CallResult{b})
	got, err := s.Results(ctx, "no-such-run")
	if err != nil {
		t.Fatalf("Results of an unknown run: %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("Results of an unknown run returned %d results", len(got))
	}
}

func testResultUnknownRun(t *testing.T, h *harness) {
	s := h.store(t)
	err := s.SaveResult(ctx, sampleResult("never-saved", "c", "x", 0))
	if !errors.Is(err, lab.ErrNotFound) {
		t.Fatalf("SaveResult for a run never saved: error = %v, want lab.ErrNotFound", err)
	}
}

func testResultBadInput(t *testing.T, h *harness) {
	tests := []struct {
		name   string
		change func(r *lab.CallResult)
	}{
		{"empty run id", func(r *lab.CallResult) { r.RunID = "" }},
		{"NaN latency", func(r *lab.CallResult) { r.LatencyMS = math.NaN() }},
		{"infinite cost", func(r *lab.CallResult) { r.Cost = math.Inf(1) }},
		{"NaN score", func(r *lab.CallResult) { r.Scores["label"] = lab.Score{Value: math.NaN()} }},
	}
	s := h.store(t)
	mustSaveRun(t, s, sampleRun("r", base))
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sampleResult("r", "c", tc.name, 0)
			tc.change(&r)
			if err := s.SaveResult(ctx, r); err == nil {
				t.Fatal("SaveResult succeeded; want an error")
			}
		})
	}
	if got := mustResults(t, s, "r"); len(got) != 0 {
		t.Fatalf("refused results were stored: %v", keys(got))
	}
}

func testResultCanceled(t *testing.T, h *harness) {
	s := h.store(t)
	mustSaveRun(t, s, sampleRun("r", base))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	err := s.SaveResult(cctx, sampleResult("r", "c", "x", 0))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("SaveResult with a canceled context: error = %v, want context.Canceled", err)
	}
	// The store must still work for other callers.
	mustSaveResult(t, s, sampleResult("r", "c", "y", 0))
}

func testResultConcurrent(t *testing.T, h *harness) {
	const writers, each = 16, 40
	s := h.store(t)
	mustSaveRun(t, s, sampleRun("r", base))
	var wg sync.WaitGroup
	errs := make(chan error, writers*each+1)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				r := sampleResult("r", fmt.Sprintf("cand-%02d", w), fmt.Sprintf("case-%03d", i), 0)
				r.TokensIn = w*1000 + i
				if err := s.SaveResult(ctx, r); err != nil {
					errs <- err
					return
				}
				// Every writer also rewrites one shared record: upserts
				// racing on the same key must leave exactly one.
				shared := sampleResult("r", "shared", "case", 0)
				shared.TokensIn = w
				if err := s.SaveResult(ctx, shared); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	// Reads keep working while the writers run.
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		last := 0
		for {
			select {
			case <-stop:
				return
			default:
			}
			rs, err := s.Results(ctx, "r")
			if err != nil {
				errs <- fmt.Errorf("Results during writes: %w", err)
				return
			}
			if len(rs) < last {
				errs <- fmt.Errorf("Results shrank from %d to %d during writes", last, len(rs))
				return
			}
			last = len(rs)
		}
	}()
	wg.Wait()
	close(stop)
	<-readerDone
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := mustResults(t, s, "r")
	if len(got) != writers*each+1 {
		t.Fatalf("after %d concurrent saves of distinct keys (+1 shared), found %d results", writers*each, len(got))
	}
	seen := map[int]bool{}
	for _, r := range got {
		if r.CandidateID == "shared" {
			if r.TokensIn < 0 || r.TokensIn >= writers {
				t.Errorf("shared record holds TokensIn %d, which no writer wrote", r.TokensIn)
			}
			continue
		}
		seen[r.TokensIn] = true
	}
	for w := range writers {
		for i := range each {
			if !seen[w*1000+i] {
				t.Errorf("writer %d's result %d was lost", w, i)
			}
		}
	}
}
