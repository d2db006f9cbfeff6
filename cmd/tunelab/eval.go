package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/queue"
	"github.com/tunelab/tunelab/internal/report"
	"github.com/tunelab/tunelab/internal/workspace"
)

func newEvalCmd() *cobra.Command {
	var (
		jsonOut, htmlOut, storeDSN string
		models                     []string
		limit                      int
		noCache, skipBad, quiet    bool
		useQueue                   bool
		localWorkers               int
		rescueAfter                time.Duration
	)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Run every candidate on every test case and compare them",
		Long: `Runs every candidate (model x prompt variant) on every test case, repeats
times, scores each answer and prints the comparison. Results are saved as they
arrive: run the same command again after an interruption and it finishes only
what is missing. Identical requests are answered from the response cache.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfgPath, _ := cmd.Flags().GetString("config")
			w, err := workspace.Open(ctx, cfgPath, workspace.Options{SkipBad: skipBad, Models: models, StoreDSN: storeDSN, CheckModels: true})
			if err != nil {
				return err
			}
			defer w.Close()
			stderr := cmd.ErrOrStderr()
			for _, e := range w.Skipped {
				fmt.Fprintf(stderr, "skipped bad row: %v\n", e)
			}
			if limit > 0 && limit < len(w.Test) {
				w.Test = w.Test[:limit]
			}
			cands := w.Candidates()
			targets, err := w.Targets(cands)
			if err != nil {
				return err
			}
			scorers, primary, err := w.Scorers()
			if err != nil {
				return err
			}
			for _, m := range w.UnpricedModels() {
				fmt.Fprintf(stderr, "note: no price known for %s, its cost shows as 0: add it under prices: in tunelab.yaml\n", m)
			}
			specs, _ := w.ScorerSpecs()
			run := w.RunInfo(cands, specs, primary)
			runner := &eval.Runner{
				Store: w.Store, Scorers: scorers, Primary: primary,
				Concurrency: w.Config.Concurrency, NoCache: noCache, // the config's timeout bounds each attempt, in the provider
				Progress: newProgress(stderr, quiet, "eval"),
			}
			fmt.Fprintf(stderr, "run %s: %d candidates x %d cases x %d repeat(s)\n", run.ID, len(cands), len(w.Test), w.Config.Repeats)
			var outcome eval.Outcome
			var runErr error
			if useQueue {
				outcome, runErr = distribute(ctx, w, runner, run, targets, localWorkers, rescueAfter)
			} else {
				outcome, runErr = runner.Run(ctx, run, targets, w.Test)
			}
			var mf *eval.ModelFailedError
			if errors.As(runErr, &mf) {
				return mf
			}
			if runErr != nil {
				return runErr
			}
			results, err := w.Store.Results(ctx, run.ID)
			if err != nil {
				return fmt.Errorf("read results: %w", err)
			}
			sum := eval.Summarize(run, results)
			out := cmd.OutOrStdout()
			fmt.Fprintf(stderr, "%d calls: %d resumed from an earlier run, %d answered from cache, %d sent, %d errors\n",
				outcome.Total, outcome.Resumed, outcome.Cached, outcome.Called, outcome.Errors)
			if err := report.Table(out, sum); err != nil {
				return err
			}
			doc := report.Document{Task: w.Task, Summary: sum, Cases: w.Test, Results: results}
			if profiles, _, _, _, _ := priceCandidates(w, sum, results); len(profiles) > 0 {
				doc.CostChart = report.CostVolumeSVG(profiles, float64(w.Task.Volume))
			}
			if jsonOut != "" {
				if err := report.WriteJSON(jsonOut, doc); err != nil {
					return err
				}
				fmt.Fprintf(stderr, "wrote %s\n", jsonOut)
			}
			if htmlOut != "" {
				if err := report.WriteHTML(htmlOut, doc); err != nil {
					return err
				}
				fmt.Fprintf(stderr, "wrote %s\n", htmlOut)
			}
			if outcome.Canceled && useQueue {
				fmt.Fprintf(stderr, "interrupted: %d results are saved; the rest stay queued for the workers: run the same command again to follow the run\n", outcome.Total-sum.Missing)
				return errInterrupted
			}
			if outcome.Canceled {
				fmt.Fprintf(stderr, "interrupted: %d results are saved; run the same command again to finish\n", outcome.Total-sum.Missing)
				return errInterrupted
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&jsonOut, "json", "", "write the results as JSON (schema: docs/results.md)")
	f.StringVar(&htmlOut, "html", "", "write a self-contained HTML report")
	f.StringArrayVar(&models, "model", nil, "run these models instead of the config's (repeatable), e.g. openai-compatible:http://localhost:8080/v1#m")
	f.IntVar(&limit, "limit", 0, "use only the first N test cases")
	f.BoolVar(&noCache, "no-cache", false, "send every request to the model even if an identical one was answered before")
	f.BoolVar(&skipBad, "skip-bad", false, "skip malformed dataset rows instead of stopping at the first")
	f.BoolVar(&quiet, "quiet", false, "no progress bar")
	f.StringVar(&storeDSN, "store", "", "store to use instead of the config's (a SQLite path or postgres:// URL)")
	f.BoolVar(&useQueue, "queue", false, "put the calls in the PostgreSQL store's queue for 'tunelab worker' processes on any machine, and follow them")
	f.IntVar(&localWorkers, "local-workers", -1, "with --queue: calls this process runs itself while it follows (default: the config's concurrency; 0 leaves all to workers)")
	f.DurationVar(&rescueAfter, "rescue-after", 10*time.Minute, "with --queue: hand a call taken by a worker that has not finished it after this long to another worker")
	return cmd
}

// distribute runs a run through the queue: it enqueues the calls, works
// some of them here when localWorkers allows, and follows the rest.
func distribute(ctx context.Context, w *workspace.Workspace, runner *eval.Runner, run lab.RunInfo, targets []eval.Target, localWorkers int, rescueAfter time.Duration) (eval.Outcome, error) {
	if err := needQueue(w); err != nil {
		return eval.Outcome{}, err
	}
	if localWorkers < 0 {
		localWorkers = w.Config.Concurrency
	}
	opts := queue.Options{Concurrency: localWorkers, RescueAfter: rescueAfter}
	if localWorkers > 0 {
		opts.Exec = &eval.Executor{Runner: &eval.Runner{Store: runner.Store, Scorers: runner.Scorers, Primary: runner.Primary, NoCache: runner.NoCache}, Prepare: w.PrepareRun}
	}
	q, err := queue.Open(ctx, w.DSN, opts)
	if err != nil {
		return eval.Outcome{}, err
	}
	defer q.Close()
	if err := q.Start(context.WithoutCancel(ctx)); err != nil {
		return eval.Outcome{}, err
	}
	out, runErr := runner.Distribute(ctx, run, targets, w.Test, q, 0)
	if err := q.Stop(30 * time.Second); err != nil && runErr == nil {
		runErr = err
	}
	return out, runErr
}
