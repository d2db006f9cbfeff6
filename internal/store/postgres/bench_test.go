package postgres

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/tunelab/tunelab/internal/lab"
)

// BenchmarkSaveResult measures durable saves (each committed before it
// returns) from 16 concurrent callers, the runner's usual worker count.
func BenchmarkSaveResult(b *testing.B) {
	ctx := context.Background()
	dsn := testDSN(b)
	schema := fmt.Sprintf("tunelab_bench_%d", os.Getpid())
	s, err := OpenSchema(ctx, dsn, schema)
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		s.Close()
		if conn, err := pgx.Connect(ctx, dsn); err == nil {
			conn.Exec(ctx, `DROP SCHEMA `+pgx.Identifier{schema}.Sanitize()+` CASCADE`) //nolint:errcheck // best-effort cleanup
			conn.Close(ctx)
		}
	}()
	if err := s.SaveRun(ctx, lab.RunInfo{ID: "bench"}); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1))
			r := lab.CallResult{
				RunID: "bench", CandidateID: fmt.Sprintf("cand-%d", i%8), CaseID: fmt.Sprintf("case-%07d", i),
				Output: "Reasoning: a duplicate charge.\nAnswer: billing", Answer: "billing",
				Scores: map[string]lab.Score{"label": {Value: 1, Pass: true}},
				Pass:   true, LatencyMS: 812.5, TokensIn: 431, TokensOut: 57, Cost: 0.000123, CreatedAt: time.Now(),
			}
			if err := s.SaveResult(ctx, r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "saves/s")
}
