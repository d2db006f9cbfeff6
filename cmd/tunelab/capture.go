package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/server"
)

func newDataCaptureCmd() *cobra.Command {
	var storeDSN, deployment, since, out string
	cmd := &cobra.Command{
		Use:   "capture --deployment NAME [--since 7d] [--out FILE]",
		Short: "Turn reviewed traces into a dataset for the next tuning round",
		Long: `Writes one example per reviewed trace: the call's input, and as the expected
answer the newest correction, or the trace's own answer when reviewers accepted
it (thumbs up, or a rating of 4 or 5). Traces marked wrong without a correction
have no right answer and are left out (counted). Inputs already in the lab's
train split, and repeats, are left out too. Add the file to data.train (or
merge it) and run the ladder again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if deployment == "" {
				return fmt.Errorf("--deployment is required (see `tunelab deploy list`)")
			}
			w, err := openLab(cmd, storeDSN)
			if err != nil {
				return err
			}
			defer w.Close()
			ctx := cmd.Context()
			f, err := server.TraceQuery(map[string][]string{"deployment": {deployment}, "since": {since}}, time.Now())
			if err != nil {
				return fmt.Errorf("--%w", err)
			}
			c, err := server.Capture(ctx, w.Store, w.Train, f)
			if err != nil {
				return err
			}
			if err := server.WriteCaptured(w.Config.Dir, out, deployment, &c); err != nil {
				return err
			}
			o := cmd.OutOrStdout()
			fmt.Fprintf(o, "%d examples from %d reviewed traces written to %s (dataset version %s)\n", c.Examples, c.Reviewed, c.Path, c.Version)
			if c.NoAnswer > 0 {
				fmt.Fprintf(o, "%d marked wrong without a correction were left out: add one with `tunelab traces review ID --correction ...`\n", c.NoAnswer)
			}
			if c.Repeats > 0 {
				fmt.Fprintf(o, "%d already in the train split or repeated were left out\n", c.Repeats)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&deployment, "deployment", "", "the deployment whose traces to capture")
	f.StringVar(&since, "since", "", "only traces since this time (RFC 3339) or duration ago (e.g. 168h)")
	f.StringVar(&out, "out", "", "the JSONL file to write, relative to the lab (default data/captured-NAME-TIME.jsonl)")
	f.StringVar(&storeDSN, "store", "", "store DSN (default: the config's)")
	return cmd
}
