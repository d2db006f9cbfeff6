package queue

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/store/sqlite"
)

// BenchmarkCalls measures what a call costs the machinery around it, with
// a model that answers at once: the single-process runner on each store,
// and the queue with four workers (each its own River client and
// connection pool, as four `tunelab worker` processes would be) on
// PostgreSQL. Every variant runs 16 calls at a time. An op is one call;
// cpu-us/call is the process's user+system time per call.
func BenchmarkCalls(b *testing.B) {
	run := func(b *testing.B, do func(f *fixture) (eval.Outcome, error), f *fixture) {
		b.Helper()
		cpu0 := cpuTime()
		b.ResetTimer()
		out, err := do(f)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if out.Called != b.N {
			b.Fatalf("%d calls made; want %d", out.Called, b.N)
		}
		b.ReportMetric(float64(cpuTime()-cpu0)/float64(time.Microsecond)/float64(b.N), "cpu-us/call")
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	}
	b.Run("runner-sqlite", func(b *testing.B) {
		f := newFixture(b, b.N, "plain")
		st, err := sqlite.Open(context.Background(), b.TempDir()+"/lab.db")
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		f.store = st
		run(b, func(f *fixture) (eval.Outcome, error) {
			r := f.runner()
			r.Concurrency = 16
			return r.Run(context.Background(), f.run, f.targets, f.cases)
		}, f)
	})
	b.Run("runner-postgres", func(b *testing.B) {
		f := newFixture(b, b.N, "plain")
		run(b, func(f *fixture) (eval.Outcome, error) {
			r := f.runner()
			r.Concurrency = 16
			return r.Run(context.Background(), f.run, f.targets, f.cases)
		}, f)
	})
	b.Run("queue-4-workers", func(b *testing.B) {
		f := newFixture(b, b.N, "plain")
		for range 4 {
			f.worker(b, 4, f.prepare, nil)
		}
		q := f.coordinator(b)
		run(b, func(f *fixture) (eval.Outcome, error) {
			return f.runner().Distribute(context.Background(), f.run, f.targets, f.cases, q, 20*time.Millisecond)
		}, f)
	})
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(fmt.Sprintf("getrusage: %v", err)) // cannot fail on Linux with RUSAGE_SELF
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
