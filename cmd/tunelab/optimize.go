package main

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/tunelab/tunelab/internal/eval/stats"
	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/optimize"
	"github.com/tunelab/tunelab/internal/workspace"
)

func newOptimizeCmd() *cobra.Command {
	var (
		models                      []string
		promptName, outPath, storeD string
		opts                        optimize.Options
		noPropose                   bool
	)
	cmd := &cobra.Command{
		Use:   "optimize",
		Short: "Search for a better prompt on the validation split: bootstrapped demonstrations and rewritten instructions",
		Long: `Starts from one of the lab's prompt variants and searches, within a budget of
model calls, for a better one: demonstrations the model gets right on train
examples, and instructions rewritten by the model from its failures, scored on
the validation split (never the test split, which stays for tunelab eval).
Prints every trial, the gain over the starting prompt with a 95% interval,
and the failures that remain grouped by pattern, and writes the best prompt
as a prompts: entry to add to tunelab.yaml.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			cfgPath, _ := cmd.Flags().GetString("config")
			w, err := workspace.Open(ctx, cfgPath, workspace.Options{Models: models, StoreDSN: storeD, CheckModels: true})
			if err != nil {
				return err
			}
			defer w.Close()
			if len(w.Val) == 0 {
				return fmt.Errorf("%s: no validation split to optimise on: add data.validation, or data.split.validation (e.g. 0.15) to carve it from train", w.Config.Path)
			}
			if promptName == "" {
				promptName = w.Config.Prompts[0].Name
			}
			base, ok := w.Variant(promptName)
			if !ok {
				return fmt.Errorf("--prompt %q: no such prompt in %s", promptName, w.Config.Path)
			}
			var cand *lab.Candidate
			for _, c := range w.Candidates() {
				if c.Variant.Name == promptName {
					cand = &c
					break
				}
			}
			if cand == nil {
				return fmt.Errorf("--prompt %q is not used with any model", promptName)
			}
			o, err := w.Optimizer(*cand, !noPropose)
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			fmt.Fprintf(stderr, "optimising %q on %s: %d train, %d validation examples, budget %d calls\n", promptName, cand.Model, len(w.Train), len(w.Val), opts.Budget)
			out, err := o.Run(ctx, base, w.Train, w.Val, opts)
			if err != nil {
				return err
			}
			if err := printOptimize(cmd.OutOrStdout(), w.Task, promptName, out); err != nil {
				return err
			}
			if outPath == "" {
				outPath = filepath.Join(w.Config.Dir, "optimized-prompt.yaml")
			}
			if err := writePromptYAML(outPath, out.Best); err != nil {
				return err
			}
			fmt.Fprintf(stderr, "wrote the best prompt to %s: add it under prompts: in tunelab.yaml to evaluate it on the test split\n", outPath)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&models, "model", nil, "optimise for this model instead of the config's first")
	f.StringVar(&promptName, "prompt", "", "the prompt variant to start from (default: the config's first)")
	f.IntVar(&opts.Budget, "budget", 400, "most model calls the search may make (0: no limit)")
	f.Int64Var(&opts.Seed, "seed", 1, "seed for demonstration sampling and proposals")
	f.IntVar(&opts.DemoSets, "demo-sets", 4, "candidate demonstration sets to score")
	f.IntVar(&opts.Proposals, "proposals", 3, "rewritten instructions to ask the model for")
	f.IntVar(&opts.K, "k", 4, "demonstrations per set")
	f.BoolVar(&noPropose, "no-proposals", false, "do not ask the model to rewrite the instructions")
	f.StringVar(&outPath, "out", "", "where to write the best prompt (default: optimized-prompt.yaml in the lab)")
	f.StringVar(&storeD, "store", "", "store to use instead of the config's")
	return cmd
}

func printOptimize(w io.Writer, task lab.Task, baseName string, out optimize.Outcome) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "trial\tvalidation score\tcalls")
	for _, t := range out.Trials {
		fmt.Fprintf(tw, "%s\t%.1f%%\t%d\n", t.Name, 100*t.Score, t.Calls)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	best, base := caseScores(out.BestResult), caseScores(out.Base)
	if len(best) == len(base) && len(best) > 0 {
		diff, lo, hi, p := stats.PairedBootstrap(best, base, 2000, 1)
		fmt.Fprintf(w, "\nbest %.1f%% against %q %.1f%% on validation: %+.1f points (95%% CI %+.1f to %+.1f, p=%.3f), %d calls in all\n",
			100*out.BestScore, baseName, 100*out.BaseScore, 100*diff, 100*lo, 100*hi, p, out.Calls)
		if p >= 0.05 {
			fmt.Fprintln(w, "the gain is not significant on this validation split: it may be noise; more validation data would tell")
		}
	}
	if out.Exhausted {
		fmt.Fprintln(w, "the budget ran out before every planned trial: raise --budget to search further")
	}
	groups := optimize.Failures(task, out.BestResult.Cases)
	if len(groups) == 0 {
		fmt.Fprintln(w, "\nthe best prompt gets every validation case right")
		return nil
	}
	fmt.Fprintln(w, "\nfailures of the best prompt, by pattern:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "expected\tgot\tcases\texample")
	const maxRows = 15
	for i, g := range groups {
		if i == maxRows {
			rest := 0
			for _, g := range groups[maxRows:] {
				rest += g.Count
			}
			fmt.Fprintf(tw, "(%d more patterns)\t\t%d\t\n", len(groups)-maxRows, rest)
			break
		}
		ex := ""
		if len(g.Examples) > 0 {
			ex = shortText(g.Examples[0].Input, 70)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", g.Expected, g.Got, g.Count, ex)
	}
	return tw.Flush()
}

func caseScores(r optimize.Result) []float64 {
	out := make([]float64, len(r.Cases))
	for i, c := range r.Cases {
		out[i] = c.Score
	}
	return out
}

func shortText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// writePromptYAML writes a variant as one prompts: entry of tunelab.yaml.
func writePromptYAML(path string, v lab.Variant) error {
	entry := map[string]any{"name": v.Name}
	set := func(k, val string) {
		if val != "" {
			entry[k] = val
		}
	}
	set("system", v.System)
	set("instructions", v.Instructions)
	set("template", v.Template)
	set("answer_pattern", v.AnswerPattern)
	set("answer_field", v.AnswerField)
	if v.ChainOfThought {
		entry["chain_of_thought"] = true
	}
	if fs := v.FewShot; fs != nil {
		entry["few_shot"] = map[string]any{"select": fs.Select, "k": fs.K, "ids": fs.IDs}
	}
	if len(v.JSONSchema) > 0 {
		entry["json_schema"] = string(v.JSONSchema)
	}
	b, err := yaml.Marshal([]any{entry})
	if err != nil {
		return fmt.Errorf("encode prompt: %w", err)
	}
	header := "# Found by tunelab optimize. Paste under prompts: in tunelab.yaml.\n"
	return fsutil.WriteFileAtomic(path, append([]byte(header), b...), 0o644)
}
