package storetest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
)

func checkRun(t *testing.T, got, want lab.RunInfo) {
	t.Helper()
	want = normRun(want)
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("run %s times: got created %v updated %v, want %v and %v (microsecond precision)",
			want.ID, got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt)
	}
	if got.CreatedAt.Location() != time.UTC || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("run %s times are in %v/%v, want UTC", want.ID, got.CreatedAt.Location(), got.UpdatedAt.Location())
	}
	got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("run %s round-trip:\n got %+v\nwant %+v", want.ID, got, want)
	}
}

func testRunRoundTrip(t *testing.T, h *harness) {
	tests := []struct {
		name string
		run  lab.RunInfo
	}{
		{"full", sampleRun("run-full", base)},
		{"empty slices", func() lab.RunInfo {
			r := sampleRun("run-empty", base)
			r.Candidates, r.ScorerNames = []lab.Candidate{}, []string{}
			return r
		}()},
		{"nil slices and zero times", lab.RunInfo{ID: "run-zero", Status: lab.RunDone}},
		{"unicode and quotes", func() lab.RunInfo {
			r := sampleRun("run-ünï'cödé\"", base.Add(-time.Hour))
			r.Lab = "étiquetage; DROP TABLE runs; --"
			return r
		}()},
	}
	s := h.store(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mustSaveRun(t, s, tc.run)
			got, err := s.Run(ctx, tc.run.ID)
			if err != nil {
				t.Fatalf("Run(%s): %v", tc.run.ID, err)
			}
			checkRun(t, got, tc.run)
		})
	}
}

func testRunNotFound(t *testing.T, h *harness) {
	s := h.store(t)
	mustSaveRun(t, s, sampleRun("present", base))
	for _, id := range []string{"absent", "", "PRESENT"} {
		t.Run("id="+id, func(t *testing.T) {
			_, err := s.Run(ctx, id)
			if !errors.Is(err, lab.ErrNotFound) {
				t.Fatalf("Run(%q) error = %v, want lab.ErrNotFound", id, err)
			}
		})
	}
}

func testRunsNewestFirst(t *testing.T, h *harness) {
	s := h.store(t)
	got, err := s.Runs(ctx)
	if err != nil {
		t.Fatalf("Runs on an empty store: %v", err)
	}
	if len(got) != 0 {
		t.Fatalf("Runs on an empty store returned %d runs", len(got))
	}
	// Saved out of order; "b" and "c" share a time, so ID decides.
	for _, r := range []struct {
		id  string
		age time.Duration
	}{{"a", 3 * time.Hour}, {"d", 0}, {"b", time.Hour}, {"e", 2 * time.Hour}, {"c", time.Hour},
		{"f", time.Microsecond}} {
		mustSaveRun(t, s, sampleRun(r.id, base.Add(-r.age)))
	}
	got, err = s.Runs(ctx)
	if err != nil {
		t.Fatalf("Runs: %v", err)
	}
	var ids []string
	for _, r := range got {
		ids = append(ids, r.ID)
	}
	want := []string{"d", "f", "c", "b", "e", "a"}
	if !reflect.DeepEqual(ids, want) {
		t.Fatalf("Runs order = %v, want %v", ids, want)
	}
	checkRun(t, got[0], sampleRun("d", base))
}

func testRunReplaceKeepsResults(t *testing.T, h *harness) {
	s := h.store(t)
	run := sampleRun("r", base)
	mustSaveRun(t, s, run)
	mustSaveResult(t, s, sampleResult("r", "c1", "x1", 0))
	mustSaveResult(t, s, sampleResult("r", "c1", "x2", 0))

	run.Status, run.UpdatedAt, run.Cases = lab.RunDone, base.Add(time.Hour), 2
	run.Candidates = run.Candidates[:1]
	mustSaveRun(t, s, run)

	got, err := s.Run(ctx, "r")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkRun(t, got, run)
	runs, err := s.Runs(ctx)
	if err != nil {
		t.Fatalf("Runs: %v", err)
	}
	if len(runs) != 1 {
		t.Errorf("after replacing a run, Runs has %d entries, want 1", len(runs))
	}
	if rs := mustResults(t, s, "r"); len(rs) != 2 {
		t.Errorf("after replacing a run, it has %d results, want the 2 saved before", len(rs))
	}
}

func testRunEmptyID(t *testing.T, h *harness) {
	s := h.store(t)
	if err := s.SaveRun(ctx, lab.RunInfo{Lab: "x"}); err == nil {
		t.Fatal("SaveRun with an empty ID succeeded; want an error")
	}
}
