package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/queue"
	"github.com/tunelab/tunelab/internal/store"
	"github.com/tunelab/tunelab/internal/workspace"
)

func newWorkerCmd() *cobra.Command {
	var (
		storeDSN    string
		concurrency int
		rescueAfter time.Duration
		quiet       bool
		tuneSlots   int
		threads     int
	)
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Take queued evaluation calls and tuning jobs from the team's PostgreSQL store and run them",
		Long: `Runs the calls that 'tunelab eval --queue' and the tuning jobs that
'tunelab tune --queue' put in the queue, on this machine, until stopped. Start as many workers as you like, on any machines that reach
the database; each must run in a copy of the same lab (tunelab.yaml, data and
local model files), which it checks before taking a run's calls. A worker that
dies mid-call loses nothing: its calls are given to another worker after
--rescue-after. Results land in the store once, whoever runs them.

A tuning job trains in slices of half --rescue-after: each slice ends at a
checkpoint kept in the store, and the next slice, here or on another worker,
resumes from it. The tuned model goes into the store, where the machine that
queued the job (and any worker evaluating it) fetches it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfgPath, _ := cmd.Flags().GetString("config")
			w, err := workspace.Open(ctx, cfgPath, workspace.Options{StoreDSN: storeDSN})
			if err != nil {
				return err
			}
			defer w.Close()
			if err := needQueue(w); err != nil {
				return err
			}
			scorers, primary, err := w.Scorers()
			if err != nil {
				return err
			}
			if concurrency <= 0 {
				concurrency = w.Config.Concurrency
			}
			stderr := cmd.ErrOrStderr()
			tally := &workerTally{}
			fatal := make(chan error, 1)
			exec := &eval.Executor{Runner: &eval.Runner{Store: w.Store, Scorers: scorers, Primary: primary}, Prepare: w.PrepareRun}
			if threads <= 0 {
				threads = runtime.NumCPU()
			}
			stopping, stopTraining := context.WithCancel(context.Background())
			defer stopTraining()
			tuner := &labTuner{w: w, threads: threads, stderr: stderr, fatal: fatal, stopping: stopping}
			q, err := queue.Open(ctx, w.DSN, queue.Options{
				Exec: exec, Concurrency: concurrency, RescueAfter: rescueAfter, Tuner: tuner, TuneSlots: tuneSlots,
				Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError})),
				Done: func(res lab.CallResult, err error) {
					tally.add(res, err)
					var mm *eval.LabMismatchError
					if errors.As(err, &mm) {
						select {
						case fatal <- err:
						default:
						}
					}
				},
			})
			if err != nil {
				return err
			}
			defer q.Close()
			if err := q.Start(context.WithoutCancel(ctx)); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "worker: taking calls, %d at a time, and tuning jobs, %d at a time; stop with Ctrl-C (calls in flight are finished or handed back)\n", concurrency, tuneSlots)
			tick := time.NewTicker(10 * time.Second)
			defer tick.Stop()
			var stopErr error
		wait:
			for {
				select {
				case <-ctx.Done():
					break wait
				case stopErr = <-fatal:
					break wait
				case <-tick.C:
					if !quiet {
						tally.report(stderr, false)
					}
				}
			}
			stopTraining()
			if err := q.Stop(30 * time.Second); err != nil && stopErr == nil {
				stopErr = err
			}
			tally.report(stderr, true)
			return stopErr
		},
	}
	f := cmd.Flags()
	f.StringVar(&storeDSN, "store", "", "the PostgreSQL store to take calls from instead of the config's (postgres://...)")
	f.IntVar(&concurrency, "concurrency", 0, "calls to run at once (default: the config's concurrency)")
	f.DurationVar(&rescueAfter, "rescue-after", 10*time.Minute, "hand a call taken by a worker that has not finished it after this long to another worker; longer than any call takes")
	f.BoolVar(&quiet, "quiet", false, "no periodic counts, only the final line")
	f.IntVar(&tuneSlots, "tune-slots", 1, "tuning jobs to train at once (0: take none); each uses --threads cores")
	f.IntVar(&threads, "threads", 0, "CPU threads for a tuning job (default: one per core)")
	return cmd
}

// needQueue refuses a lab whose store cannot hold a queue.
func needQueue(w *workspace.Workspace) error {
	kind, _, err := store.Parse(w.DSN)
	if err != nil {
		return err
	}
	if kind != "postgres" {
		return fmt.Errorf("the queue lives in a PostgreSQL store and this lab's store is SQLite (%s): set store: postgres://... in tunelab.yaml or pass --store; with SQLite, 'tunelab eval' runs every call in one process", w.DSN)
	}
	return nil
}

// workerTally counts what a worker did, for its periodic line.
type workerTally struct {
	mu                                   sync.Mutex
	calls, cached, errs, failed, dropped int
	reported                             int
	start                                time.Time
	lastErr                              string // why the last call was handed back
}

func (t *workerTally) add(res lab.CallResult, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.start.IsZero() {
		t.start = time.Now()
	}
	switch {
	case errors.Is(err, eval.ErrRunCanceled):
		t.dropped++
	case err != nil:
		t.failed++
		t.lastErr = err.Error()
	case res.Error != "":
		t.calls++
		t.errs++
	default:
		t.calls++
		if res.Cached {
			t.cached++
		}
	}
}

func (t *workerTally) report(w io.Writer, final bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !final && t.calls+t.failed+t.dropped == t.reported {
		return
	}
	t.reported = t.calls + t.failed + t.dropped
	fmt.Fprintf(w, "worker: %d calls done (%d from cache, %d model errors recorded), %d handed back to the queue, %d dropped with their canceled run\n", t.calls, t.cached, t.errs, t.failed, t.dropped)
	if t.lastErr != "" {
		fmt.Fprintf(w, "worker: the last call handed back failed with: %s\n", t.lastErr)
		t.lastErr = ""
	}
}
