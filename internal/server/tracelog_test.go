package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/store/sqlite"
)

// stuckStore never finishes storing traces: the process "dies" with every
// trace still only in the log.
type stuckStore struct{ lab.ServingStore }

func (stuckStore) SaveTraces(ctx context.Context, _ []lab.Trace) error {
	<-ctx.Done()
	return ctx.Err()
}

func logTraces(n int) []lab.Trace {
	out := make([]lab.Trace, n)
	for i := range out {
		out[i] = lab.Trace{ID: fmt.Sprintf("tr_%04d", i), Deployment: "triage", Input: "q", Output: "a",
			Status: 200, CreatedAt: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC)}
	}
	return out
}

// TestTraceLogSurvivesCrash appends traces while the store never stores
// them (a process killed before its writer caught up), then opens the log
// again on the real store: every appended trace is there, once.
func TestTraceLogSurvivesCrash(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "lab.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	logDir := filepath.Join(dir, "traces")
	dead, _, err := openTraceLog(context.Background(), logDir, stuckStore{st}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := logTraces(300)
	for _, tr := range want {
		if err := dead.Append(tr); err != nil {
			t.Fatal(err)
		}
	}
	// The dead process is never closed; its file handle just stays open.
	again, replayed, err := openTraceLog(context.Background(), logDir, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	if replayed != len(want) {
		t.Errorf("replayed %d traces, want %d", replayed, len(want))
	}
	// Replaying the same records twice (a crash during replay) keeps one each.
	if err := again.Append(want[0]); err != nil {
		t.Fatal(err)
	}
	if err := again.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := st.Traces(context.Background(), lab.TraceFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("%d traces stored, want %d", len(got), len(want))
	}
	if left, _ := segments(logDir); len(left) != 0 {
		t.Errorf("segments left after a clean close: %v", left)
	}
}

func TestTraceLogReplayInput(t *testing.T) {
	good := `{"id":"tr_1","deployment":"d","input":"q","output":"a","answer":"a","model":"m","endpoint":"chat","latency_ms":1,"tokens_in":1,"tokens_out":1,"cost":0,"status":200,"created_at":"2026-01-01T00:00:00Z"}`
	tests := []struct {
		name    string
		content string
		stored  int
		err     string
	}{
		{"torn last line is a call never answered", good + "\n" + `{"id":"tr_2","depl`, 1, ""},
		{"garbage in the middle is refused", good + "\nnot json\n" + good + "\n", 0, "line 2: not a trace record"},
		{"empty segment", "", 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			st, err := sqlite.Open(context.Background(), filepath.Join(dir, "lab.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			logDir := filepath.Join(dir, "traces")
			if err := os.MkdirAll(logDir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(logDir, segName(3)), []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			l, n, err := openTraceLog(context.Background(), logDir, st, nil)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), segName(3)) {
					t.Fatalf("error %v, want one naming %s and %q", err, segName(3), tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if n != tc.stored {
				t.Errorf("replayed %d, want %d", n, tc.stored)
			}
			if l.curSeq != 4 {
				t.Errorf("new segment %d, want 4 (after the replayed one)", l.curSeq)
			}
		})
	}
}

// TestTraceIDs checks that trace IDs sort as their calls' start times do
// (the store's index relies on it to append) and that calls in the same
// millisecond still get distinct IDs.
func TestTraceIDs(t *testing.T) {
	base := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name         string
		early, later time.Time
	}{
		{"a millisecond apart", base, base.Add(time.Millisecond)},
		{"a byte boundary apart", time.UnixMilli(255), time.UnixMilli(256)},
		{"years apart", base, base.AddDate(30, 0, 0)},
		{"the epoch and now", time.UnixMilli(0), base},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := traceID(tc.early), traceID(tc.later)
			if len(a) != 23 || len(b) != 23 || a[:3] != "tr_" {
				t.Fatalf("ids %q, %q: want tr_ and 20 characters", a, b)
			}
			if a >= b {
				t.Errorf("traceID(%v) = %q does not sort before traceID(%v) = %q", tc.early, a, tc.later, b)
			}
		})
	}
	seen := map[string]bool{}
	for range 10000 {
		id := traceID(base)
		if seen[id] {
			t.Fatalf("traceID gave %q twice for the same millisecond", id)
		}
		seen[id] = true
	}
}
