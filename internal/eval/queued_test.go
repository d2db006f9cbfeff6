package eval

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
)

// TestExecutorForgetsIdleRuns checks that a worker keeps a run's prepared
// targets while its calls keep coming and prepares it again only after it
// sat idle for longer than Idle.
func TestExecutorForgetsIdleRuns(t *testing.T) {
	cases := []struct {
		name string
		gaps []time.Duration // before each call of run r1
		want int             // times r1 is prepared
	}{
		{"calls keep it", []time.Duration{0, time.Minute, 9 * time.Minute, 9 * time.Minute}, 1},
		{"idle past the limit", []time.Duration{0, 11 * time.Minute}, 2},
		{"prepared again, then kept", []time.Duration{0, 11 * time.Minute, time.Minute}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := openStore(t, filepath.Join(t.TempDir(), "db"))
			for _, id := range []string{"r1", "r2"} {
				if err := st.SaveRun(ctx, lab.RunInfo{ID: id, Lab: "t", Dataset: "d1", Status: lab.RunRunning}); err != nil {
					t.Fatal(err)
				}
			}
			clock := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
			prepared := map[string]int{}
			e := &Executor{
				Runner:  &Runner{Store: st, Now: func() time.Time { return clock }},
				Recheck: time.Hour,
				Prepare: func(_ context.Context, run lab.RunInfo) (*Prepared, error) {
					prepared[run.ID]++
					return &Prepared{}, nil
				},
			}
			for _, gap := range tc.gaps {
				clock = clock.Add(gap)
				if _, err := e.run(ctx, "r1"); err != nil {
					t.Fatal(err)
				}
			}
			if prepared["r1"] != tc.want {
				t.Errorf("r1 prepared %d times, want %d", prepared["r1"], tc.want)
			}
			// Another run's call, long after, leaves only that run held.
			clock = clock.Add(time.Hour)
			if _, err := e.run(ctx, "r2"); err != nil {
				t.Fatal(err)
			}
			if len(e.runs) != 1 || e.runs["r2"] == nil {
				t.Errorf("held runs %v, want only r2", e.runs)
			}
		})
	}
}
