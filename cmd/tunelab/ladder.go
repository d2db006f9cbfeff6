package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/ladder"
	"github.com/tunelab/tunelab/internal/report"
)

func newLadderCmd() *cobra.Command {
	var outDir, storeDSN string
	var threads int
	var quiet bool
	cmd := &cobra.Command{
		Use:   "ladder",
		Short: "Run the whole comparison (prompts, fine-tuning, retrieval) on the lab and recommend what to ship",
		Long: `Climbs the ladder on the lab's own data: every prompt variant on every model,
LoRA fine-tuning of tune.base on the train split, and the tuned model with each
prompt, all on the same test split with the same scorers. When the lab has
knowledge: and retrieval.questions, it asks those questions with the first
prompt with and without retrieved chunks on every model (recall@k, MRR,
groundedness and a paired test per model). Then it weighs
quality (with intervals and paired tests), latency, cost at the task's volume
and the constraints, and says what to ship and why. Writes ladder/verdict.json,
ladder/results.json and ladder/report.html. Everything resumes: run it again
after an interruption and it finishes only what is missing; run it again after
it finished and it reuses every result.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfgPath, _ := cmd.Flags().GetString("config")
			if threads <= 0 {
				threads = runtime.NumCPU()
			}
			stderr := cmd.ErrOrStderr()
			bar := newTrainProgress(stderr, quiet, "fine-tuning")
			res, err := ladder.Run(cmd.Context(), ladder.Options{
				ConfigPath: cfgPath, StoreDSN: storeDSN, Threads: threads, OutDir: outDir,
				EvalProgress: newProgress(stderr, quiet, "eval"), TuneProgress: bar.update,
				Log: func(s string) { bar.finish(); fmt.Fprintln(stderr, s) },
			})
			bar.finish()
			if err != nil {
				if cmd.Context().Err() != nil {
					fmt.Fprintln(stderr, "interrupted: finished work is saved; run tunelab ladder again to go on")
					return errInterrupted
				}
				return err
			}
			if res.Canceled {
				fmt.Fprintln(stderr, "interrupted: finished calls are saved; run tunelab ladder again to go on")
				return errInterrupted
			}
			out := cmd.OutOrStdout()
			o := res.Outcome
			fmt.Fprintf(stderr, "%d calls: %d reused from an earlier run, %d answered from cache, %d sent, %d errors\n",
				o.Total, o.Resumed, o.Cached, o.Called, o.Errors)
			if err := report.Table(out, res.Summary); err != nil {
				return err
			}
			v := res.Verdict
			fmt.Fprintf(out, "\nVerdict: %s\n", v.Pick)
			for _, r := range v.Reasons {
				fmt.Fprintf(out, "  - %s\n", r)
			}
			if len(v.Changes) > 0 {
				fmt.Fprintln(out, "What would change it:")
				for _, c := range v.Changes {
					fmt.Fprintf(out, "  - %s\n", c)
				}
			}
			for _, f := range res.Files {
				fmt.Fprintf(stderr, "wrote %s\n", f)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&outDir, "out", "", "folder for verdict.json, results.json and report.html (default: the lab's ladder/)")
	f.StringVar(&storeDSN, "store", "", "store to use instead of the config's (a SQLite path or postgres:// URL)")
	f.IntVar(&threads, "threads", 0, "CPU threads for fine-tuning (default: one per core)")
	f.BoolVar(&quiet, "quiet", false, "no progress bars")
	return cmd
}
