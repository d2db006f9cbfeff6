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

	"github.com/tunelab/tunelab/internal/advisor"
	"github.com/tunelab/tunelab/internal/cost"
	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/finetune"
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
at the task's volume and at 20k, 200k and 2M calls a day: calls, dedicated
hosting where the config gives it (models[].hosting, local.dedicated; a
self-hosted machine serves as many calls a day as its measured seconds per
call allow, and more volume needs more machines), and a locally tuned
model's training, spread over 12 months. For every pair where the more
accurate candidate also costs more, it says what the extra accuracy costs a
month, and where the cheaper of two changes with volume.`,
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
			return printCost(cmd.OutOrStdout(), w, sum, results, volume, volSource)
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

// costProfiles prices the candidates whose cost is known from measurement
// without their calls' latencies: a dedicated self-hosted machine's
// capacity is then unknown and one machine is counted. priceCandidates,
// given the run's results, measures it.
func costProfiles(w *workspace.Workspace, sum eval.Summary) (profiles []cost.Profile, priced []eval.CandidateSummary, unknown map[string]string) {
	profiles, priced, unknown, _, _ = priceCandidates(w, sum, nil)
	return profiles, priced, unknown
}

// priceCandidates prices the candidates whose cost is known from
// measurement, with their dedicated hosting and a locally tuned model's
// training (as the ladder prices them); unknown maps the others to the
// reason, hosting describes the hosted ones, and training says whether any
// training cost is included.
func priceCandidates(w *workspace.Workspace, sum eval.Summary, results []lab.CallResult) (profiles []cost.Profile, priced []eval.CandidateSummary, unknown map[string]string, hosting map[string]advisor.Hosting, training bool) {
	unpriced := w.UnpricedModels()
	unknown = map[string]string{}
	trainUSD, bases := localTraining(w)
	all, hosting := advisor.CostProfiles(advisor.CostInput{Config: w.Config, Summary: sum, Results: results, Training: trainUSD, Bases: bases})
	for _, c := range sum.Candidates {
		if why := unknownCost(w, unpriced, c); why != "" {
			unknown[c.ID] = why
			delete(hosting, c.ID)
			continue
		}
		profiles = append(profiles, all[c.ID])
		priced = append(priced, c)
		training = training || all[c.ID].TrainingUSD > 0
	}
	return profiles, priced, unknown, hosting, training
}

// localTraining is what each locally tuned model's training cost, as the
// ladder counts it (its measured duration at local.hourly_usd), and the
// base each was tuned from, from the lab's tuning jobs. A job record that
// cannot be read leaves the training out rather than stopping the command:
// a lab without jobs is the common case.
func localTraining(w *workspace.Workspace) (usd map[string]float64, bases map[string]string) {
	usd, bases = map[string]float64{}, map[string]string{}
	jobs, err := finetune.JobsIn(w.Config.Dir).List()
	if err != nil {
		return usd, bases
	}
	for _, j := range jobs {
		if j.Status != finetune.StatusSucceeded || j.Model == "" || j.Result == nil || j.Spec.Backend != "local" {
			continue
		}
		if _, seen := usd[j.Model]; !seen { // newest first
			usd[j.Model] = j.Result.Duration.Hours() * w.Config.Local.HourlyUSD
			bases[j.Model] = j.Spec.Base
		}
	}
	return usd, bases
}

func printCost(out io.Writer, w *workspace.Workspace, sum eval.Summary, results []lab.CallResult, volume float64, volSource string) error {
	profiles, priced, unknown, hosting, training := priceCandidates(w, sum, results)
	pr := cost.Project(profiles, volume)
	byID := map[string]cost.Profile{}
	for _, p := range profiles {
		byID[p.ID] = p
	}

	fmt.Fprintf(out, "run %s: %d candidates, %d test cases\n", sum.RunID, len(sum.Candidates), sum.Cases)
	if !sum.Complete {
		fmt.Fprintf(out, "note: the run is missing %d calls; costs are means over the calls it has\n", sum.Missing)
	}
	if volume > 0 {
		fmt.Fprintf(out, "your volume: %s calls/day (%s)\n", countText(volume), volSource)
	} else {
		fmt.Fprintln(out, "note: the task declares no volume: set task.volume in the config or pass --volume")
	}
	included := []string{"calls at their measured cost"}
	if len(hosting) > 0 {
		included = append(included, "dedicated hosting (calls on a dedicated machine cost nothing beyond its hours)")
	}
	if training {
		included = append(included, "local fine-tuning, spread over 12 months")
	}
	fmt.Fprintf(out, "costs include %s\n", strings.Join(included, ", "))
	if len(hosting) == 0 {
		fmt.Fprintln(out, "no dedicated hosting: for a model on a deployment paid for by the hour, set hosting: under its models: entry, or local.dedicated: true for the lab's machine")
	}
	fmt.Fprintln(out)

	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"candidate", "accuracy", "$ / call", "hosting"}
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
		p, known := byID[c.ID]
		if _, bad := unknown[c.ID]; bad || !known {
			cells = append(cells, "unknown", "unknown")
			for range pr.Volumes {
				cells = append(cells, "unknown")
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
			continue
		}
		cells = append(cells, usd(p.PerCallUSD), hostingText(p))
		for _, row := range pr.Rows {
			if row.ID != c.ID {
				continue
			}
			for i, m := range row.MonthlyUSD {
				cell := usd(m)
				if n := cost.Replicas(p, pr.Volumes[i]); n > 1 {
					cell += fmt.Sprintf(" (%d×)", n)
				}
				cells = append(cells, cell)
			}
		}
		fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t")
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write table: %w", err)
	}
	fmt.Fprintln(out, "(monthly cost in USD, 30.4 days a month; (n×): n replicas of the dedicated hosting)")
	for _, c := range sum.Candidates {
		if h, ok := hosting[c.ID]; ok {
			fmt.Fprintf(out, "hosting of %s: %s\n", c.ID, h.Describe(volume))
		}
	}
	for _, c := range sum.Candidates {
		if why, ok := unknown[c.ID]; ok {
			fmt.Fprintf(out, "cost unknown for %s: %s\n", c.ID, why)
		}
	}
	fmt.Fprintln(out)
	printTradeOffs(out, priced, profiles, pr)
	return nil
}

// hostingText is a profile's dedicated hosting for the table: what a
// replica costs a month, and how many calls a day it serves.
func hostingText(p cost.Profile) string {
	if p.FixedMonthlyUSD <= 0 {
		return "-"
	}
	s := usd(p.FixedMonthlyUSD) + "/mo"
	if p.CapacityPerDay > 0 {
		s += " per " + countText(p.CapacityPerDay) + "/day"
	}
	return s
}

// printTradeOffs says, for every pair where the more accurate candidate
// costs more at some of the projected volumes (by more than 1% of the
// other's bill), what its extra accuracy costs a month, and where the
// cheaper option changes with volume.
func printTradeOffs(out io.Writer, cands []eval.CandidateSummary, profiles []cost.Profile, pr cost.Projection) {
	fmt.Fprintln(out, "trade-offs:")
	said := false
	for i, a := range cands {
		for j, b := range cands {
			if i == j || math.IsNaN(a.Accuracy) || math.IsNaN(b.Accuracy) || a.Accuracy <= b.Accuracy {
				continue
			}
			pa, pb := profiles[i], profiles[j]
			var extra []string
			dearer := false
			for _, v := range pr.Volumes {
				cb := cost.MonthlyCost(pb, v)
				d := cost.MonthlyCost(pa, v) - cb
				// A difference within 1% of the cheaper bill (a tuned
				// model's training spread over a year, say) is not a
				// trade-off worth a line.
				dearer = dearer || d > 0.01*cb+0.005
				extra = append(extra, fmt.Sprintf("%s/month at %s/day", usd(d), countText(v)))
			}
			if !dearer {
				continue
			}
			if perCallOnly(pa) && perCallOnly(pb) {
				fmt.Fprintf(out, "  %s costs more per call than %s (%s against %s); it is worth it only if its %+.1f pts accuracy is worth %s\n",
					a.ID, b.ID, usd(pa.PerCallUSD), usd(pb.PerCallUSD), 100*(a.Accuracy-b.Accuracy), strings.Join(extra, ", "))
			} else {
				fmt.Fprintf(out, "  %s costs more than %s at some of these volumes (hosting and training included; a negative figure is a saving); it is worth it only if its %+.1f pts accuracy is worth %s\n",
					a.ID, b.ID, 100*(a.Accuracy-b.Accuracy), strings.Join(extra, ", "))
			}
			said = true
		}
	}
	for _, be := range cost.BreakEvens(profiles) {
		if !be.Crosses {
			continue
		}
		line := fmt.Sprintf("  break-even: %s is cheaper than %s above %s calls/day", be.A, be.B, countText(be.CallsPerDay))
		if n := len(be.Switches); n > 1 {
			var at []string
			for _, v := range be.Switches[:min(n-1, 6)] {
				at = append(at, countText(v))
			}
			if n-1 > 6 {
				at = append(at, "...")
			}
			line += fmt.Sprintf("; below that the cheaper one changes at %s calls/day, as replicas are added", strings.Join(at, ", "))
		}
		fmt.Fprintln(out, line)
		said = true
	}
	if !said {
		fmt.Fprintln(out, "  none: no more accurate candidate costs more, so the cheapest accurate one wins at any volume")
	}
}

// perCallOnly says whether a profile's whole cost is its calls.
func perCallOnly(p cost.Profile) bool { return p.FixedMonthlyUSD <= 0 && p.TrainingUSD <= 0 }

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
