package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/cost"
	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/workspace"
)

func newCostCmd() *cobra.Command {
	var (
		runID, storeDSN string
		volume          float64
	)
	cmd := &cobra.Command{
		Use:   "cost",
		Short: "Project each candidate's monthly cost at the task's volume and beyond",
		Long: `Takes the per-call cost each candidate had in an evaluation run (the newest
finished run of this lab unless --run names one) and projects the monthly bill
at the task's volume and at 20k, 200k and 2M calls a day. For every pair where
the more accurate candidate also costs more per call, it says what the extra
accuracy costs a month.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if volume < 0 {
				return fmt.Errorf("--volume %v: want calls per day, 0 or more", volume)
			}
			ctx := cmd.Context()
			cfgPath, _ := cmd.Flags().GetString("config")
			w, err := workspace.Open(ctx, cfgPath, workspace.Options{StoreDSN: storeDSN})
			if err != nil {
				return err
			}
			defer w.Close()
			run, err := pickRun(ctx, w, runID)
			if err != nil {
				return err
			}
			results, err := w.Store.Results(ctx, run.ID)
			if err != nil {
				return fmt.Errorf("read results of %s: %w", run.ID, err)
			}
			sum := eval.Summarize(run, results)
			volSource := "--volume"
			if !cmd.Flags().Changed("volume") {
				volume, volSource = float64(w.Task.Volume), "task.volume in the config"
			}
			return printCost(cmd.OutOrStdout(), w, sum, volume, volSource)
		},
	}
	f := cmd.Flags()
	f.StringVar(&runID, "run", "", "the evaluation run to price (default: this lab's newest finished run)")
	f.Float64Var(&volume, "volume", 0, "calls per day (default: the task's volume from the config)")
	f.StringVar(&storeDSN, "store", "", "store to use instead of the config's (a SQLite path or postgres:// URL)")
	return cmd
}

// pickRun returns the named run, or this lab's newest finished one: a run
// still going or interrupted has costs for only some cases.
func pickRun(ctx context.Context, w *workspace.Workspace, id string) (lab.RunInfo, error) {
	if id != "" {
		run, err := w.Store.Run(ctx, id)
		if errors.Is(err, lab.ErrNotFound) {
			return lab.RunInfo{}, fmt.Errorf("--run %s: no such run in the store; `tunelab eval` prints the id of each run", id)
		}
		if err != nil {
			return lab.RunInfo{}, fmt.Errorf("read run %s: %w", id, err)
		}
		return run, nil
	}
	runs, err := w.Store.Runs(ctx)
	if err != nil {
		return lab.RunInfo{}, fmt.Errorf("list runs: %w", err)
	}
	unfinished := ""
	for _, r := range runs {
		if r.Lab != w.Task.Name {
			continue
		}
		if r.Status == lab.RunDone {
			return r, nil
		}
		if unfinished == "" {
			unfinished = fmt.Sprintf(" (run %s is %s)", r.ID, r.Status)
		}
	}
	return lab.RunInfo{}, fmt.Errorf("lab %q has no finished evaluation run yet%s: run tunelab eval first", w.Task.Name, unfinished)
}

// unknownCost says why a candidate's measured cost of 0 means "not known"
// rather than "free", or "" when its cost is real.
func unknownCost(w *workspace.Workspace, unpriced []string, c eval.CandidateSummary) string {
	if c.Calls == c.Errors {
		return "no call succeeded, so nothing was measured"
	}
	if slices.Contains(unpriced, c.Model) {
		return fmt.Sprintf("no price for %s: add it under prices: in the config", c.Model)
	}
	// Models given with eval --model are not in the config, so
	// UnpricedModels does not see them.
	ref, err := provider.ParseRef(c.Model)
	if err != nil || ref.Provider == "local" || ref.Provider == "openai-compatible" {
		return ""
	}
	if _, ok := w.Prices.Lookup(ref.Model); !ok {
		return fmt.Sprintf("no price for %s: add it under prices: in the config", c.Model)
	}
	return ""
}

// costProfiles prices the candidates whose cost is known from measurement;
// unknown maps the others to the reason.
func costProfiles(w *workspace.Workspace, sum eval.Summary) (profiles []cost.Profile, priced []eval.CandidateSummary, unknown map[string]string) {
	unpriced := w.UnpricedModels()
	unknown = map[string]string{}
	for _, c := range sum.Candidates {
		if why := unknownCost(w, unpriced, c); why != "" {
			unknown[c.ID] = why
			continue
		}
		profiles = append(profiles, cost.Profile{ID: c.ID, PerCallUSD: c.CostPer1K / 1000})
		priced = append(priced, c)
	}
	return profiles, priced, unknown
}

func printCost(out io.Writer, w *workspace.Workspace, sum eval.Summary, volume float64, volSource string) error {
	profiles, priced, unknown := costProfiles(w, sum)
	pr := cost.Project(profiles, volume)

	fmt.Fprintf(out, "run %s: %d candidates, %d test cases\n", sum.RunID, len(sum.Candidates), sum.Cases)
	if !sum.Complete {
		fmt.Fprintf(out, "note: the run is missing %d calls; costs are means over the calls it has\n", sum.Missing)
	}
	if volume > 0 {
		fmt.Fprintf(out, "your volume: %s calls/day (%s)\n", countText(volume), volSource)
	} else {
		fmt.Fprintln(out, "note: the task declares no volume: set task.volume in the config or pass --volume")
	}
	fmt.Fprintln(out, "costs are measured per call; fine-tuning and dedicated hosting are not included")
	fmt.Fprintln(out)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"candidate", "accuracy", "$ / call"}
	for _, v := range pr.Volumes {
		label := countText(v) + "/day"
		if v == pr.TaskVolume {
			label += " (yours)"
		}
		head = append(head, label)
	}
	fmt.Fprintln(tw, strings.Join(head, "\t")+"\t")
	for _, c := range sum.Candidates {
		cells := []string{c.ID, accuracyText(c.Accuracy)}
		if _, ok := unknown[c.ID]; ok {
			cells = append(cells, "unknown")
			for range pr.Volumes {
				cells = append(cells, "unknown")
			}
		} else {
			cells = append(cells, usd(c.CostPer1K/1000))
			for _, row := range pr.Rows {
				if row.ID != c.ID {
					continue
				}
				for _, m := range row.MonthlyUSD {
					cells = append(cells, usd(m))
				}
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	fmt.Fprintln(out, "(monthly cost in USD, 30.4 days a month)")
	for _, c := range sum.Candidates {
		if why, ok := unknown[c.ID]; ok {
			fmt.Fprintf(out, "cost unknown for %s: %s\n", c.ID, why)
		}
	}
	fmt.Fprintln(out)
	printTradeOffs(out, priced, profiles, pr)
	return nil
}

// printTradeOffs says, for every pair where the more accurate candidate
// costs more per call, what its extra accuracy costs a month, and where
// the cheaper option changes with volume.
func printTradeOffs(out io.Writer, cands []eval.CandidateSummary, profiles []cost.Profile, pr cost.Projection) {
	fmt.Fprintln(out, "trade-offs:")
	said := false
	for i, a := range cands {
		for j, b := range cands {
			if i == j || math.IsNaN(a.Accuracy) || math.IsNaN(b.Accuracy) {
				continue
			}
			if a.Accuracy <= b.Accuracy || profiles[i].PerCallUSD <= profiles[j].PerCallUSD {
				continue
			}
			var extra []string
			for _, v := range pr.Volumes {
				d := cost.MonthlyCost(profiles[i], v) - cost.MonthlyCost(profiles[j], v)
				extra = append(extra, fmt.Sprintf("%s/month at %s/day", usd(d), countText(v)))
			}
			fmt.Fprintf(out, "  %s costs more per call than %s (%s against %s); it is worth it only if its %+.1f pts accuracy is worth %s\n",
				a.ID, b.ID, usd(profiles[i].PerCallUSD), usd(profiles[j].PerCallUSD), 100*(a.Accuracy-b.Accuracy), strings.Join(extra, ", "))
			said = true
		}
	}
	for _, be := range cost.BreakEvens(profiles) {
		if be.Crosses {
			fmt.Fprintf(out, "  break-even: %s is cheaper than %s above %s calls/day\n", be.A, be.B, countText(be.CallsPerDay))
			said = true
		}
	}
	if !said {
		fmt.Fprintln(out, "  none: no more accurate candidate costs more per call, so the cheapest accurate one wins at any volume")
	}
}

func accuracyText(a float64) string {
	if math.IsNaN(a) {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*a)
}

// usd writes an amount with the precision its size needs: per-call costs
// are fractions of a cent, monthly bills whole dollars.
func usd(x float64) string {
	sign := ""
	if x < 0 {
		sign, x = "-", -x
	}
	switch {
	case x == 0:
		return "$0"
	case x < 0.01:
		return sign + "$" + strconv.FormatFloat(x, 'g', 3, 64)
	case x < 100:
		return fmt.Sprintf("%s$%.2f", sign, x)
	}
	return sign + "$" + thousands(math.Round(x))
}

// countText writes calls per day: whole calls with separators, and a
// decimal only where a small volume needs it.
func countText(v float64) string {
	if v < 100 && v != math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return thousands(math.Round(v))
}

// thousands writes a whole number with comma separators: 2,000,000.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", math.Abs(v))
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
