// Package storetest is the contract suite every lab.Store implementation
// passes. A backend's own test calls Run with a function that opens it;
// the suite checks what lab.Store's doc comments promise, plus what this
// package documents where the interface leaves a choice open:
//
//   - times are kept to the microsecond and read back in UTC;
//   - Runs orders equal CreatedAt by ID, descending;
//   - Results orders candidate and case IDs bytewise (as Go compares
//     strings), then repeats numerically; an unknown run has no results;
//   - SaveResult for a run never saved fails with lab.ErrNotFound;
//   - SaveRun replacing a run keeps its results;
//   - non-finite numbers (NaN, ±Inf) are refused, not stored as something else;
//   - NUL characters in a result's text are kept as U+FFFD (PostgreSQL text
//     cannot hold NUL);
//   - Close may be called twice; use after Close returns an error;
//   - an artifact is stored in parts of serving.PartSize, so the suite
//     writes one larger than several parts.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/store/migrate"
)

// Opener opens the store under test. Called again with the same t it must
// open the same data (the suite closes and reopens to check durability);
// different tests must get independent, empty data. It fails t itself if
// the store cannot be opened.
type Opener func(t *testing.T) lab.Store

// Option gives the suite what it cannot reach through lab.Store.
type Option func(*config)

type config struct {
	futureSchema func(t *testing.T) error
}

// FutureSchema lets the suite check that a database written by a newer
// tunelab is refused. fn must mark the data that open(t) uses as having a
// schema version newer than the binary knows, open it again, and return
// the error opening gave (nil if it opened). Without this option the check
// is skipped, which only suits a store with no schema (an in-memory fake).
func FutureSchema(fn func(t *testing.T) error) Option {
	return func(c *config) { c.futureSchema = fn }
}

// Run runs the contract suite.
func Run(t *testing.T, open Opener, opts ...Option) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	h := &harness{open: open}
	tests := []struct {
		name string
		fn   func(t *testing.T, h *harness)
	}{
		{"runs/round-trip", testRunRoundTrip},
		{"runs/not-found", testRunNotFound},
		{"runs/newest-first", testRunsNewestFirst},
		{"runs/replace-keeps-results", testRunReplaceKeepsResults},
		{"runs/refuses-empty-id", testRunEmptyID},
		{"results/round-trip", testResultRoundTrip},
		{"results/idempotent-upsert", testResultUpsert},
		{"results/stable-order", testResultOrder},
		{"results/isolated-by-run", testResultsIsolated},
		{"results/unknown-run", testResultUnknownRun},
		{"results/refuses-bad-input", testResultBadInput},
		{"results/canceled-context", testResultCanceled},
		{"results/concurrent", testResultConcurrent},
		{"cache", testCache},
		{"reopen", testReopen},
		{"close", testClose},
		{"future-schema", func(t *testing.T, h *harness) { testFutureSchema(t, h, cfg.futureSchema) }},
	}
	tests = append(tests, servingTests...)
	tests = append(tests, artifactTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
	}
}

type harness struct{ open Opener }

// store opens the store for t and closes it when t ends. Close is called
// through a guard because tests may close it themselves first.
func (h *harness) store(t *testing.T) lab.Store {
	t.Helper()
	s := h.open(t)
	var once sync.Once
	t.Cleanup(func() { once.Do(func() { _ = s.Close() }) })
	return s
}

var ctx = context.Background()

// base is a fixed instant with sub-microsecond digits and a zone other
// than UTC, so the suite sees both precision and zone handling.
var base = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.FixedZone("UTC+5:30", 5*3600+1800))

func ptr[T any](v T) *T { return &v }

func sampleRun(id string, created time.Time) lab.RunInfo {
	return lab.RunInfo{
		ID:      id,
		Lab:     "support-triage",
		Dataset: "sha256:4f2a",
		Candidates: []lab.Candidate{
			{
				ID:    "gpt-cot",
				Model: "openai:gpt-4o-mini",
				Variant: lab.Variant{
					Name: "cot", Technique: "chain-of-thought", System: "You triage <tickets> & route them.",
					Instructions: "Think, then answer.\nLabel only.", Template: "Ticket: {{.Input}}",
					FewShot:        &lab.FewShot{K: 3, Select: lab.SelectNearest, IDs: []string{"e1", "e2"}, Seed: 7},
					ChainOfThought: true, AnswerPattern: `Answer: (\w+)`,
					JSONSchema: []byte(`{"type":"object","properties":{"label":{"type":"string"}}}`), AnswerField: "label",
				},
				Params: lab.Params{Temperature: ptr(0.0), MaxTokens: 256, Seed: ptr(int64(42))},
			},
			{ID: "local-base", Model: "local:tiny", Variant: lab.Variant{Name: "zero-shot"}},
		},
		Cases:          120,
		Repeats:        3,
		Status:         lab.RunRunning,
		CreatedAt:      created,
		UpdatedAt:      created.Add(90 * time.Second),
		PrimaryScorer:  "label",
		ScorerNames:    []string{"label", "f1"},
		ConfigChecksum: "sha256:c0ffee",
	}
}

func sampleResult(runID, cand, kase string, rep int) lab.CallResult {
	return lab.CallResult{
		RunID: runID, CandidateID: cand, CaseID: kase, Repeat: rep,
		Output: "Reasoning: \"refund\" — 払い戻し\nAnswer: billing", Answer: "billing",
		Scores: map[string]lab.Score{
			"label": {Value: 1, Pass: true},
			"f1":    {Value: 0.6666666666666666, Pass: false, Reason: "partial overlap: 2/3 tokens"},
		},
		Pass: true, LatencyMS: 812.375, TokensIn: 431, TokensOut: 57, Cost: 0.000123456789,
		Cached: true, Error: "", Attempts: 2, CreatedAt: base.Add(time.Duration(rep) * time.Second),
	}
}

// normRun and normResult are what a store should give back for what it was
// given: times truncated to the microsecond, in UTC.
func normTime(tm time.Time) time.Time { return tm.Truncate(time.Microsecond).UTC() }

func normRun(r lab.RunInfo) lab.RunInfo {
	r.CreatedAt, r.UpdatedAt = normTime(r.CreatedAt), normTime(r.UpdatedAt)
	return r
}

func normResult(r lab.CallResult) lab.CallResult {
	r.CreatedAt = normTime(r.CreatedAt)
	return r
}

func mustSaveRun(t *testing.T, s lab.Store, run lab.RunInfo) {
	t.Helper()
	if err := s.SaveRun(ctx, run); err != nil {
		t.Fatalf("SaveRun(%s): %v", run.ID, err)
	}
}

func mustSaveResult(t *testing.T, s lab.Store, r lab.CallResult) {
	t.Helper()
	if err := s.SaveResult(ctx, r); err != nil {
		t.Fatalf("SaveResult(%s/%s/%s/%d): %v", r.RunID, r.CandidateID, r.CaseID, r.Repeat, err)
	}
}

func mustResults(t *testing.T, s lab.Store, runID string) []lab.CallResult {
	t.Helper()
	got, err := s.Results(ctx, runID)
	if err != nil {
		t.Fatalf("Results(%s): %v", runID, err)
	}
	return got
}

func keys(rs []lab.CallResult) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%s|%s|%d", r.CandidateID, r.CaseID, r.Repeat)
	}
	return out
}

func testFutureSchema(t *testing.T, h *harness, future func(t *testing.T) error) {
	if future == nil {
		t.Skip("storetest.FutureSchema not given: this store has no schema to refuse")
	}
	s := h.store(t)
	mustSaveRun(t, s, sampleRun("r1", base))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	err := future(t)
	if err == nil {
		t.Fatal("a database with a newer schema opened; want it refused")
	}
	if !errors.Is(err, migrate.ErrSchemaTooNew) {
		t.Errorf("error %q does not match migrate.ErrSchemaTooNew", err)
	}
	if !strings.Contains(err.Error(), "upgrade tunelab") {
		t.Errorf("error %q does not tell the user to upgrade tunelab", err)
	}
}
