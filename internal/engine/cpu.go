package engine

import (
	"context"
	"runtime"

	"golang.org/x/sync/semaphore"
)

// cpus rations the machine's cores among generations, across every model
// in the process: each generation holds as many as it runs threads. More
// threads than cores make ggml's spinning thread pools stall each other,
// so a call's measured time would be the machine's contention, not the
// model's speed (on 2 cores, 4 concurrent calls put the tuned example
// model's p95 at 2.1 s against a 25 ms median). Waiting for cores happens
// before a generation's clock starts.
var cpus = semaphore.NewWeighted(int64(runtime.NumCPU()))

// holdCPUs waits for threads cores (capped at the machine's) and returns
// the function that gives them back.
func holdCPUs(ctx context.Context, threads int) (func(), error) {
	n := int64(min(max(threads, 1), runtime.NumCPU()))
	if err := cpus.Acquire(ctx, n); err != nil {
		return nil, err
	}
	return func() { cpus.Release(n) }, nil
}
