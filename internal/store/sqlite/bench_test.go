package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/store/internal/codec"
)

func benchResult(i int) lab.CallResult {
	return lab.CallResult{
		RunID: "bench", CandidateID: fmt.Sprintf("cand-%d", i%8), CaseID: fmt.Sprintf("case-%07d", i), Repeat: i % 3,
		Output: "Reasoning: the customer asks for a refund of a duplicate charge.\nAnswer: billing", Answer: "billing",
		Scores: map[string]lab.Score{"label": {Value: 1, Pass: true}, "f1": {Value: 0.5, Reason: "partial"}},
		Pass:   true, LatencyMS: 812.5, TokensIn: 431, TokensOut: 57, Cost: 0.000123, Attempts: 1,
		CreatedAt: time.Now(),
	}
}

// BenchmarkSaveResult measures durable saves: each op returns only after
// its row is committed. "serial" is one caller; "parallel-N" is N callers
// at once (the runner's worker pool), where group commit shares commits.
func BenchmarkSaveResult(b *testing.B) {
	for _, callers := range []int{1, 16, 64} {
		name := "serial"
		if callers > 1 {
			name = fmt.Sprintf("parallel-%d", callers)
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			s, err := Open(ctx, filepath.Join(b.TempDir(), "tunelab.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if err := s.SaveRun(ctx, lab.RunInfo{ID: "bench"}); err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			if callers == 1 {
				for i := 0; i < b.N; i++ {
					if err := s.SaveResult(ctx, benchResult(i)); err != nil {
						b.Fatal(err)
					}
				}
			} else {
				// SetParallelism multiplies GOMAXPROCS; aim for ~callers goroutines.
				b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := s.SaveResult(ctx, benchResult(int(next.Add(1)))); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "saves/s")
		})
	}
}

// BenchmarkSaveResultUnbatched is the baseline group commit is measured
// against: the same upsert, one autocommit transaction per save.
func BenchmarkSaveResultUnbatched(b *testing.B) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(b.TempDir(), "tunelab.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.SaveRun(ctx, lab.RunInfo{ID: "bench"}); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(16 / runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := benchResult(int(next.Add(1)))
			scores, _ := codec.Scores(r.Scores)
			if err := execSave(ctx, s.saveResult, &saveReq{ctx: ctx, r: r, scores: scores}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "saves/s")
}
