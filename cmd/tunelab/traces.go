package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/server"
)

func newTracesCmd() *cobra.Command {
	var (
		storeDSN, deployment, since, until   string
		errorsOnly, reviewed, shadow, asJSON bool
		limit                                int
	)
	cmd := &cobra.Command{
		Use:   "traces [ID]",
		Short: "List the gateway's traces, or show one with its reviews",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			w, err := openLab(cmd, storeDSN)
			if err != nil {
				return err
			}
			defer w.Close()
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			if len(args) == 1 {
				t, err := w.Store.Trace(ctx, args[0])
				if errors.Is(err, lab.ErrNotFound) {
					return fmt.Errorf("no trace %q (see `tunelab traces`)", args[0])
				}
				if err != nil {
					return err
				}
				fbs, err := w.Store.Feedback(ctx, t.ID)
				if err != nil {
					return err
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(struct {
					lab.Trace
					Feedback []lab.Feedback `json:"feedback"`
				}{t, fbs})
			}
			q := map[string][]string{"deployment": {deployment}, "since": {since}, "until": {until}}
			f, err := server.TraceQuery(q, time.Now())
			if err != nil {
				return fmt.Errorf("--%w", err)
			}
			f.ErrorsOnly, f.Reviewed, f.Shadow, f.Limit = errorsOnly, reviewed, shadow, limit
			ts, err := w.Store.Traces(ctx, f)
			if err != nil {
				return err
			}
			if asJSON {
				if ts == nil {
					ts = []lab.Trace{}
				}
				return json.NewEncoder(out).Encode(ts)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTIME\tDEPLOYMENT\tSERVED\tSTATUS\tMS\tINPUT\tANSWER")
			for _, t := range ts {
				served := fmt.Sprintf("%s v%d", t.Served, t.Version)
				if t.Shadow {
					served += " (shadow)"
				}
				answer := t.Answer
				if t.Error != "" {
					answer = "error: " + t.Error
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%.0f\t%s\t%s\n", t.ID, t.CreatedAt.Local().Format(time.DateTime),
					t.Deployment, served, t.Status, t.LatencyMS, oneLine(t.Input, 40), oneLine(answer, 30))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(out, "%d traces\n", len(ts))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&deployment, "deployment", "", "only this deployment's calls")
	f.StringVar(&since, "since", "", "only calls since this time (RFC 3339) or duration ago (e.g. 24h)")
	f.StringVar(&until, "until", "", "only calls before this time or duration ago")
	f.BoolVar(&errorsOnly, "errors", false, "only failed calls")
	f.BoolVar(&reviewed, "reviewed", false, "only calls with feedback")
	f.BoolVar(&shadow, "shadow", false, "include shadow calls")
	f.BoolVar(&asJSON, "json", false, "print JSON")
	f.IntVar(&limit, "limit", 50, "at most this many, newest first (0: all)")
	f.StringVar(&storeDSN, "store", "", "store DSN (default: the config's)")
	cmd.AddCommand(newReviewCmd(&storeDSN))
	return cmd
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func newReviewCmd(storeDSN *string) *cobra.Command {
	var (
		reviewer, correction, comment string
		up, down                      bool
		rating                        int
	)
	cmd := &cobra.Command{
		Use:   "review ID --reviewer NAME [--up|--down] [--rating 1-5] [--correction TEXT] [--comment TEXT]",
		Short: "Record a review of a trace; corrected and accepted traces feed `tunelab data capture`",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(reviewer) == "" {
				return errors.New("--reviewer is required: say who reviewed the call")
			}
			if up && down {
				return errors.New("give --up or --down, not both")
			}
			if rating < 0 || rating > 5 {
				return fmt.Errorf("--rating %d: want 1 to 5", rating)
			}
			fb := lab.Feedback{ID: "fb_" + fmt.Sprint(time.Now().UnixNano()), TraceID: args[0], Reviewer: reviewer,
				Rating: rating, Correction: correction, Comment: comment, CreatedAt: time.Now()}
			if up {
				fb.Thumb = 1
			}
			if down {
				fb.Thumb = -1
			}
			if fb.Thumb == 0 && fb.Rating == 0 && correction == "" && comment == "" {
				return errors.New("say something: --up, --down, --rating, --correction or --comment")
			}
			w, err := openLab(cmd, *storeDSN)
			if err != nil {
				return err
			}
			defer w.Close()
			if err := w.Store.SaveFeedback(cmd.Context(), fb); err != nil {
				if errors.Is(err, lab.ErrNotFound) {
					return fmt.Errorf("no trace %q (see `tunelab traces`)", args[0])
				}
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "review of %s saved\n", args[0])
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&reviewer, "reviewer", "", "who reviewed the call")
	f.BoolVar(&up, "up", false, "the answer was right")
	f.BoolVar(&down, "down", false, "the answer was wrong")
	f.IntVar(&rating, "rating", 0, "a rating from 1 to 5")
	f.StringVar(&correction, "correction", "", "the answer the call should have given")
	f.StringVar(&comment, "comment", "", "a free-text note")
	return cmd
}

func newMonitorCmd() *cobra.Command {
	var (
		storeDSN string
		window   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "monitor",
		Short: "Show each deployment's live quality, latency, errors and cost, and whether to retrain",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w, err := openLab(cmd, storeDSN)
			if err != nil {
				return err
			}
			defer w.Close()
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			deps, err := w.Store.Deployments(ctx)
			if err != nil {
				return err
			}
			mon, err := monitorOptions(w)
			if err != nil {
				return err
			}
			now := time.Now()
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "DEPLOYMENT\tCALLS\tERRORS\tP50 MS\tP95 MS\tCOST $\tLIVE QUALITY (%s)\tREVIEWED\tACCEPTED\tEVALUATED\n", mon.Primary)
			var notes []string
			for _, d := range deps {
				st, err := server.WindowStats(ctx, w.Store, d, now.Add(-window), now, mon.Primary)
				if err != nil {
					return err
				}
				q, acc, ev := "-", "-", "-"
				if st.Scored > 0 {
					q = fmt.Sprintf("%.1f%% of %d", 100*st.Quality, st.Scored)
				}
				if st.Reviewed > 0 {
					acc = fmt.Sprintf("%.1f%%", 100*st.Accepted)
				}
				if d.Quality != nil {
					ev = fmt.Sprintf("%.1f%%", 100**d.Quality)
				}
				fmt.Fprintf(tw, "%s v%d\t%d\t%.1f%%\t%.0f\t%.0f\t%.4f\t%s\t%d\t%s\t%s\n", d.Name, d.Version, st.Calls, 100*st.ErrorRate,
					st.P50MS, st.P95MS, st.Cost, q, st.Reviewed, acc, ev)
				why, err := server.SuggestRetrain(ctx, w.Store, d, now, mon.RetrainAfter)
				if err != nil {
					return err
				}
				if why != "" {
					notes = append(notes, fmt.Sprintf("retrain %s: %s", d.Name, why))
				}
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(out, "over the last %s\n", window)
			for _, n := range notes {
				fmt.Fprintln(out, n)
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&window, "window", 24*time.Hour, "how far back to look")
	cmd.Flags().StringVar(&storeDSN, "store", "", "store DSN (default: the config's)")
	return cmd
}
