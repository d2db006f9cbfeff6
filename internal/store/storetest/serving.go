package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
)

// servingTests are the lab.ServingStore part of the contract.
var servingTests = []struct {
	name string
	fn   func(t *testing.T, h *harness)
}{
	{"deployments/versions", testDeploymentVersions},
	{"deployments/delete", testDeploymentDelete},
	{"traces/round-trip-and-replay", testTraceRoundTrip},
	{"traces/filters", testTraceFilters},
	{"traces/scores", testTraceScores},
	{"feedback", testFeedback},
	{"keys", testKeys},
}

func sampleDeployment(name string) lab.Deployment {
	q := 0.75
	return lab.Deployment{
		Name: name, Lab: "support-triage",
		Task:         lab.Task{Name: "support-triage", Output: lab.OutputLabel, Labels: []string{"billing", "shipping"}},
		Candidate:    sampleRun("r", base).Candidates[0],
		Demos:        []lab.Example{{ID: "e1", Input: "Where is my parcel?", Expected: "shipping"}},
		ModelVersion: "sha256:abc", Dataset: "sha256:4f2a", Quality: &q,
		Split:  []lab.Arm{{Deployment: "challenger", Weight: 0.2}},
		Shadow: "shadow-one", CreatedAt: base,
	}
}

func testDeploymentVersions(t *testing.T, h *harness) {
	s := h.store(t)
	if _, err := s.Deployment(ctx, "triage"); !errors.Is(err, lab.ErrNotFound) {
		t.Fatalf("Deployment(missing) error = %v, want lab.ErrNotFound", err)
	}
	d := sampleDeployment("triage")
	for want := 1; want <= 3; want++ {
		got, err := s.SaveDeployment(ctx, d)
		if err != nil {
			t.Fatalf("SaveDeployment #%d: %v", want, err)
		}
		if got.Version != want {
			t.Errorf("SaveDeployment #%d gave version %d", want, got.Version)
		}
	}
	if _, err := s.SaveDeployment(ctx, sampleDeployment("billing")); err != nil {
		t.Fatal(err)
	}
	got, err := s.Deployment(ctx, "triage")
	if err != nil {
		t.Fatal(err)
	}
	want := d
	want.Version, want.CreatedAt = 3, normTime(d.CreatedAt)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Deployment round trip:\n got %+v\nwant %+v", got, want)
	}
	all, err := s.Deployments(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range all {
		names = append(names, fmt.Sprintf("%s@%d", d.Name, d.Version))
	}
	if !reflect.DeepEqual(names, []string{"billing@1", "triage@3"}) {
		t.Errorf("Deployments = %v, want [billing@1 triage@3]", names)
	}
	hist, err := s.DeploymentHistory(ctx, "triage")
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || hist[0].Version != 1 || hist[2].Version != 3 {
		t.Errorf("DeploymentHistory(triage) = %d versions; want 1, 2, 3 in order", len(hist))
	}
	if none, err := s.DeploymentHistory(ctx, "missing"); err != nil || len(none) != 0 {
		t.Errorf("DeploymentHistory(missing) = %d versions, %v; want none", len(none), err)
	}
	if _, err := s.SaveDeployment(ctx, lab.Deployment{Name: " "}); err == nil {
		t.Error("SaveDeployment with a blank name succeeded")
	}
}

func testDeploymentDelete(t *testing.T, h *harness) {
	s := h.store(t)
	for range 2 {
		if _, err := s.SaveDeployment(ctx, sampleDeployment("triage")); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteDeployment(ctx, "triage"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Deployment(ctx, "triage"); !errors.Is(err, lab.ErrNotFound) {
		t.Errorf("Deployment after delete: %v, want lab.ErrNotFound", err)
	}
	if err := s.DeleteDeployment(ctx, "triage"); !errors.Is(err, lab.ErrNotFound) {
		t.Errorf("second DeleteDeployment: %v, want lab.ErrNotFound", err)
	}
}

func sampleTrace(id, deployment string, at time.Time) lab.Trace {
	return lab.Trace{
		ID: id, Deployment: deployment, Version: 2, Served: deployment, KeyID: "key_1", Endpoint: "chat",
		Input:   "My parcel <never> came & I want it",
		Request: []provider.Message{{Role: "user", Content: "My parcel <never> came & I want it"}},
		Prompt:  []provider.Message{{Role: "system", Content: "Route it."}, {Role: "user", Content: "Ticket: My parcel"}},
		Output:  "shipping", Answer: "shipping", Model: "local:base",
		LatencyMS: 12.5, TokensIn: 40, TokensOut: 2, Cost: 0.0000125, Status: 200, CreatedAt: at,
	}
}

func mustSaveTraces(t *testing.T, s lab.Store, ts ...lab.Trace) {
	t.Helper()
	if err := s.SaveTraces(ctx, ts); err != nil {
		t.Fatalf("SaveTraces: %v", err)
	}
}

func testTraceRoundTrip(t *testing.T, h *harness) {
	s := h.store(t)
	tr := sampleTrace("tr_1", "triage", base)
	mustSaveTraces(t, s, tr)
	// A replayed log saves the same trace again, changed or not: the first
	// record stays.
	again := tr
	again.Output = "replayed"
	mustSaveTraces(t, s, again, sampleTrace("tr_2", "triage", base.Add(time.Second)), again)
	got, err := s.Trace(ctx, "tr_1")
	if err != nil {
		t.Fatal(err)
	}
	want := tr
	want.CreatedAt = normTime(tr.CreatedAt)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Trace round trip:\n got %+v\nwant %+v", got, want)
	}
	all, err := s.Traces(ctx, lab.TraceFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != "tr_2" {
		t.Errorf("Traces = %v, want [tr_2 tr_1] (newest first, no duplicate)", traceIDs(all))
	}
	if _, err := s.Trace(ctx, "tr_missing"); !errors.Is(err, lab.ErrNotFound) {
		t.Errorf("Trace(missing) error = %v, want lab.ErrNotFound", err)
	}
	if err := s.SaveTraces(ctx, []lab.Trace{{Deployment: "x"}}); err == nil {
		t.Error("SaveTraces accepted a trace without an id")
	}
}

func traceIDs(ts []lab.Trace) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func testTraceFilters(t *testing.T, h *harness) {
	s := h.store(t)
	a := sampleTrace("a", "triage", base)
	b := sampleTrace("b", "triage", base.Add(time.Minute))
	b.Error, b.Status = "model timed out", 504
	c := sampleTrace("c", "billing", base.Add(2*time.Minute))
	d := sampleTrace("d", "triage", base.Add(3*time.Minute))
	d.Shadow = true
	mustSaveTraces(t, s, a, b, c, d)
	if err := s.SaveFeedback(ctx, lab.Feedback{ID: "f1", TraceID: "a", Reviewer: "ana", Thumb: -1, CreatedAt: base}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    lab.TraceFilter
		want []string
	}{
		{"all but shadow", lab.TraceFilter{}, []string{"c", "b", "a"}},
		{"with shadow", lab.TraceFilter{Shadow: true}, []string{"d", "c", "b", "a"}},
		{"deployment", lab.TraceFilter{Deployment: "triage"}, []string{"b", "a"}},
		{"since inclusive", lab.TraceFilter{Since: base.Add(time.Minute)}, []string{"c", "b"}},
		{"until exclusive", lab.TraceFilter{Until: base.Add(time.Minute)}, []string{"a"}},
		{"errors", lab.TraceFilter{ErrorsOnly: true}, []string{"b"}},
		{"reviewed", lab.TraceFilter{Reviewed: true}, []string{"a"}},
		{"limit", lab.TraceFilter{Limit: 2}, []string{"c", "b"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Traces(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if ids := traceIDs(got); !reflect.DeepEqual(ids, tc.want) {
				t.Errorf("Traces(%+v) = %v, want %v", tc.f, ids, tc.want)
			}
		})
	}
}

func testTraceScores(t *testing.T, h *harness) {
	s := h.store(t)
	mustSaveTraces(t, s, sampleTrace("tr_1", "triage", base))
	scores := map[string]lab.Score{"judge": {Value: 0.5, Pass: false, Reason: "half right"}}
	if err := s.SetTraceScores(ctx, "tr_1", scores); err != nil {
		t.Fatal(err)
	}
	got, err := s.Trace(ctx, "tr_1")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Scores, scores) {
		t.Errorf("scores = %+v, want %+v", got.Scores, scores)
	}
	if err := s.SetTraceScores(ctx, "nope", scores); !errors.Is(err, lab.ErrNotFound) {
		t.Errorf("SetTraceScores(missing) error = %v, want lab.ErrNotFound", err)
	}
}

func testFeedback(t *testing.T, h *harness) {
	s := h.store(t)
	mustSaveTraces(t, s, sampleTrace("tr_1", "triage", base))
	f1 := lab.Feedback{ID: "f1", TraceID: "tr_1", Reviewer: "ana", Thumb: -1, Correction: "billing", CreatedAt: base}
	f2 := lab.Feedback{ID: "f2", TraceID: "tr_1", Reviewer: "bo", Rating: 4, Comment: "ok <really>", CreatedAt: base.Add(time.Second)}
	for _, f := range []lab.Feedback{f2, f1} {
		if err := s.SaveFeedback(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Feedback(ctx, "tr_1")
	if err != nil {
		t.Fatal(err)
	}
	f1.CreatedAt, f2.CreatedAt = normTime(f1.CreatedAt), normTime(f2.CreatedAt)
	if !reflect.DeepEqual(got, []lab.Feedback{f1, f2}) {
		t.Errorf("Feedback = %+v, want oldest first [f1 f2]", got)
	}
	err = s.SaveFeedback(ctx, lab.Feedback{ID: "f3", TraceID: "tr_missing", Thumb: 1, CreatedAt: base})
	if !errors.Is(err, lab.ErrNotFound) {
		t.Errorf("feedback on a missing trace: %v, want lab.ErrNotFound", err)
	}
}

func testKeys(t *testing.T, h *harness) {
	s := h.store(t)
	k1 := lab.APIKey{ID: "key_1", Name: "web app", Hash: "h1", Deployments: []string{"triage"}, RPM: 60, CreatedAt: base}
	k2 := lab.APIKey{ID: "key_2", Name: "batch", Hash: "h2", CreatedAt: base.Add(time.Second)}
	for _, k := range []lab.APIKey{k1, k2} {
		if err := s.SaveKey(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SaveKey(ctx, lab.APIKey{ID: "key_3", Hash: "h1", CreatedAt: base}); err == nil {
		t.Error("a second key with the same hash was stored")
	}
	got, err := s.KeyByHash(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	k1.CreatedAt = normTime(k1.CreatedAt)
	if !reflect.DeepEqual(got, k1) {
		t.Errorf("KeyByHash:\n got %+v\nwant %+v", got, k1)
	}
	if _, err := s.KeyByHash(ctx, "nope"); !errors.Is(err, lab.ErrNotFound) {
		t.Errorf("KeyByHash(unknown) error = %v, want lab.ErrNotFound", err)
	}
	at := base.Add(time.Hour)
	if err := s.RevokeKey(ctx, "key_1", at); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeKey(ctx, "key_1", at.Add(time.Hour)); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
	got, err = s.KeyByHash(ctx, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if got.RevokedAt == nil || !got.RevokedAt.Equal(normTime(at)) || got.Allows("triage") {
		t.Errorf("revoked key = %+v, want revoked at %v and allowing nothing", got, at)
	}
	if err := s.RevokeKey(ctx, "key_9", at); !errors.Is(err, lab.ErrNotFound) {
		t.Errorf("RevokeKey(unknown) error = %v, want lab.ErrNotFound", err)
	}
	all, err := s.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != "key_1" || all[1].ID != "key_2" {
		t.Errorf("Keys = %+v, want key_1, key_2", all)
	}
}
