package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/dataset"
	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
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
			f.Reviewed, f.Limit = true, 0
			ts, err := w.Store.Traces(ctx, f)
			if err != nil {
				return err
			}
			seen := map[string]bool{}
			for _, e := range w.Train {
				seen[strings.TrimSpace(e.Input)] = true
			}
			var rows []lab.Example
			var noAnswer, dup int
			for i := len(ts) - 1; i >= 0; i-- { // oldest first, so files diff well
				t := ts[i]
				fbs, err := w.Store.Feedback(ctx, t.ID)
				if err != nil {
					return err
				}
				expected := expectedFrom(t, fbs)
				if expected == "" {
					noAnswer++
					continue
				}
				key := strings.TrimSpace(t.Input)
				if seen[key] {
					dup++
					continue
				}
				seen[key] = true
				reviewers := map[string]bool{}
				var names []string
				for _, fb := range fbs {
					if !reviewers[fb.Reviewer] {
						reviewers[fb.Reviewer] = true
						names = append(names, fb.Reviewer)
					}
				}
				rows = append(rows, lab.Example{ID: t.ID, Input: t.Input, Expected: expected, Meta: map[string]string{
					"source": "trace", "deployment": t.Served, "version": fmt.Sprint(t.Version), "reviewers": strings.Join(names, ","),
				}})
			}
			if out == "" {
				out = fmt.Sprintf("data/captured-%s-%s.jsonl", deployment, time.Now().Format("20060102-150405"))
			}
			var b bytes.Buffer
			enc := json.NewEncoder(&b)
			enc.SetEscapeHTML(false)
			for _, r := range rows {
				if err := enc.Encode(r); err != nil {
					return err
				}
			}
			if err := fsutil.WriteFileAtomic(w.Path(out), b.Bytes(), 0o644); err != nil {
				return fmt.Errorf("write %s: %w", out, err)
			}
			o := cmd.OutOrStdout()
			fmt.Fprintf(o, "%d examples from %d reviewed traces written to %s (dataset version %s)\n", len(rows), len(ts), out, dataset.Version(rows))
			if noAnswer > 0 {
				fmt.Fprintf(o, "%d marked wrong without a correction were left out: add one with `tunelab traces review ID --correction ...`\n", noAnswer)
			}
			if dup > 0 {
				fmt.Fprintf(o, "%d already in the train split or repeated were left out\n", dup)
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

// expectedFrom is the right answer reviews give a trace: the newest
// correction, else the trace's answer if the newest verdict accepts it.
func expectedFrom(t lab.Trace, fbs []lab.Feedback) string {
	for i := len(fbs) - 1; i >= 0; i-- {
		if c := strings.TrimSpace(fbs[i].Correction); c != "" {
			return c
		}
	}
	if server.Accepted(t, fbs) {
		return t.Answer
	}
	return ""
}
