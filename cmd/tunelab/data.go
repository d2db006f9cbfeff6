package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/cost"
	"github.com/tunelab/tunelab/internal/dataset"
	"github.com/tunelab/tunelab/internal/lab"
)

// dataFlags are the loading flags every data subcommand shares.
type dataFlags struct {
	format, input, expected string
	skipBad                 bool
}

func (f *dataFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.format, "format", "", "file format: "+strings.Join(dataset.Formats, ", ")+" (default: by extension)")
	cmd.Flags().StringVar(&f.input, "input-field", "", "column or key holding the input (default input, else text)")
	cmd.Flags().StringVar(&f.expected, "expected-field", "", "column or key holding the expected output (default expected, else label)")
	cmd.Flags().BoolVar(&f.skipBad, "skip-bad", false, "skip malformed rows (each is listed) instead of stopping at the first")
}

func (f *dataFlags) load(w io.Writer, path string) (*dataset.Dataset, error) {
	ds, err := dataset.Load(path, dataset.LoadOptions{Format: f.format, SkipBad: f.skipBad,
		Columns: dataset.Columns{Input: f.input, Expected: f.expected}})
	if err != nil {
		return nil, err
	}
	for _, e := range ds.Skipped {
		fmt.Fprintf(w, "skipped: %v\n", e)
	}
	return ds, nil
}

func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "data", Short: "Check and prepare datasets: validate, stats, split, dedupe, convert"}
	cmd.AddCommand(newDataValidateCmd(), newDataStatsCmd(), newDataSplitCmd(), newDataDedupeCmd(), newDataConvertCmd(), newDataCaptureCmd())
	return cmd
}

// labelsFromLab reads the task's labels from the lab config when there is one.
func labelsFromLab(cmd *cobra.Command) []string {
	path, _ := cmd.Flags().GetString("config")
	c, err := config.Load(path)
	if err != nil {
		return nil
	}
	return c.Task.Labels
}

func newDataValidateCmd() *cobra.Command {
	var (
		f         dataFlags
		labels    []string
		maxTokens int
	)
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check every row: parse errors, empty fields, unknown labels, over-long rows",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if len(labels) == 0 {
				labels = labelsFromLab(cmd)
			}
			problems := 0
			for _, path := range args {
				ds, err := f.load(out, path)
				if err != nil {
					return err
				}
				issues := dataset.Validate(ds.Examples, dataset.Rules{Labels: labels, MaxTokens: maxTokens, CountTokens: tokenCounter()})
				for _, is := range issues {
					fmt.Fprintln(out, is.String())
				}
				problems += len(issues) + len(ds.Skipped)
				fmt.Fprintf(out, "%s: %d examples, %d problems\n", path, len(ds.Examples), len(issues)+len(ds.Skipped))
			}
			if problems > 0 {
				return fmt.Errorf("%d problems found", problems)
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringSliceVar(&labels, "labels", nil, "allowed labels (default: task.labels of the lab, if any)")
	cmd.Flags().IntVar(&maxTokens, "max-tokens", 0, "flag rows longer than this many tokens (input + expected)")
	return cmd
}

func tokenCounter() func(string) int {
	return func(s string) int { return cost.CountTokens("gpt-4o", s) }
}

func newDataStatsCmd() *cobra.Command {
	var f dataFlags
	cmd := &cobra.Command{
		Use:   "stats FILE...",
		Short: "Counts, label distribution and token lengths",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			for _, path := range args {
				ds, err := f.load(out, path)
				if err != nil {
					return err
				}
				st := dataset.Describe(ds.Examples, tokenCounter())
				fmt.Fprintf(out, "%s (%s, version %s)\n", path, ds.Format, shortVersion(ds.Version))
				fmt.Fprintf(out, "  examples: %d (empty input %d, empty expected %d)\n", st.Examples, st.EmptyInput, st.EmptyExpected)
				for _, d := range []struct {
					name string
					d    dataset.Dist
				}{{"input tokens", st.InputTokens}, {"expected tokens", st.ExpectedTokens}} {
					fmt.Fprintf(out, "  %s: min %d, p50 %d, p90 %d, p95 %d, p99 %d, max %d, mean %.1f\n", d.name, d.d.Min, d.d.P50, d.d.P90, d.d.P95, d.d.P99, d.d.Max, d.d.Mean)
				}
				if len(st.Labels) > 0 && len(st.Labels) <= 200 {
					tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
					fmt.Fprintln(tw, "  label\tcount\tshare")
					for _, l := range st.Labels {
						fmt.Fprintf(tw, "  %s\t%d\t%.1f%%\n", l.Label, l.Count, 100*l.Share)
					}
					if err := tw.Flush(); err != nil {
						return err
					}
				} else if len(st.Labels) > 200 {
					fmt.Fprintf(out, "  %d distinct expected outputs (free text)\n", len(st.Labels))
				}
			}
			return nil
		},
	}
	f.add(cmd)
	return cmd
}

func shortVersion(v string) string {
	if len(v) > 12 {
		return v[:12]
	}
	return v
}

func newDataSplitCmd() *cobra.Command {
	var (
		f                dataFlags
		train, val, test float64
		seed             int64
		outDir           string
		force            bool
	)
	cmd := &cobra.Command{
		Use:   "split FILE",
		Short: "Split into train, validation and test, stratified by label, reproducibly",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			ds, err := f.load(out, args[0])
			if err != nil {
				return err
			}
			sp, err := dataset.Split(ds.Examples, dataset.Ratios{Train: train, Validation: val, Test: test}, seed)
			if err != nil {
				return err
			}
			parts := []struct {
				name string
				exs  []lab.Example
			}{{"train", sp.Train}, {"validation", sp.Validation}, {"test", sp.Test}}
			// Check every output before writing any: a split must not
			// overwrite its own input or a lab's existing data by surprise.
			in, _ := filepath.Abs(args[0])
			for _, part := range parts {
				path := filepath.Join(outDir, part.name+".jsonl")
				abs, _ := filepath.Abs(path)
				if len(part.exs) > 0 && abs == in {
					return fmt.Errorf("--out %s: %s is the file being split; write the split elsewhere", outDir, path)
				}
				if _, err := os.Stat(path); len(part.exs) > 0 && err == nil && !force {
					return fmt.Errorf("--out %s: %s exists; pass --force to replace it", outDir, path)
				}
			}
			for _, part := range parts {
				if len(part.exs) == 0 {
					continue
				}
				path := filepath.Join(outDir, part.name+".jsonl")
				if err := dataset.WriteJSONL(path, part.exs); err != nil {
					return err
				}
				fmt.Fprintf(out, "%s: %d examples\n", path, len(part.exs))
			}
			leaks := dataset.Leakage(append(append([]lab.Example{}, sp.Train...), sp.Validation...), sp.Test, dataset.DedupeOptions{})
			if len(leaks) > 0 {
				fmt.Fprintf(out, "warning: %d test examples (nearly) repeat a train or validation example; run tunelab data dedupe first\n", len(leaks))
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().Float64Var(&train, "train", 0.7, "share for train")
	cmd.Flags().Float64Var(&val, "validation", 0.1, "share for validation")
	cmd.Flags().Float64Var(&test, "test", 0.2, "share for test")
	cmd.Flags().Int64Var(&seed, "seed", 1, "seed: the same seed gives the same split")
	cmd.Flags().StringVar(&outDir, "out", ".", "directory for train.jsonl, validation.jsonl and test.jsonl")
	cmd.Flags().BoolVar(&force, "force", false, "replace train/validation/test files that already exist")
	return cmd
}

func newDataDedupeCmd() *cobra.Command {
	var (
		f         dataFlags
		threshold float64
		exact     bool
		outPath   string
		against   string
	)
	cmd := &cobra.Command{
		Use:   "dedupe FILE",
		Short: "Find exact and near duplicates (and leakage against another split with --against)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			ds, err := f.load(out, args[0])
			if err != nil {
				return err
			}
			opts := dataset.DedupeOptions{Threshold: threshold, ExactOnly: exact}
			if against != "" {
				other, err := f.load(out, against)
				if err != nil {
					return err
				}
				leaks := dataset.Leakage(other.Examples, ds.Examples, opts)
				for _, l := range leaks {
					fmt.Fprintf(out, "%s leaks %s (%s, similarity %.2f)\n", l.B, l.A, l.Kind, l.Similarity)
				}
				fmt.Fprintf(out, "%d of %d examples in %s also appear in %s\n", len(leaks), len(ds.Examples), args[0], against)
				return nil
			}
			res := dataset.Dedupe(ds.Examples, opts)
			for _, g := range res.Groups {
				ids := make([]string, len(g.Members))
				for i, m := range g.Members {
					ids[i] = m.ID
				}
				conflict := ""
				if g.Conflict {
					conflict = " CONFLICTING LABELS"
				}
				fmt.Fprintf(out, "%s: %s%s\n", g.Kind, strings.Join(ids, ", "), conflict)
			}
			fmt.Fprintf(out, "%d examples, %d duplicate groups, %d would be dropped\n", len(ds.Examples), len(res.Groups), len(res.Dropped))
			if outPath != "" {
				if err := dataset.WriteJSONL(outPath, res.Kept); err != nil {
					return err
				}
				fmt.Fprintf(out, "wrote %d examples to %s\n", len(res.Kept), outPath)
			}
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().Float64Var(&threshold, "threshold", 0.9, "Jaccard similarity of word shingles at which two inputs are near duplicates")
	cmd.Flags().BoolVar(&exact, "exact", false, "exact duplicates only")
	cmd.Flags().StringVar(&outPath, "out", "", "write the deduplicated examples here")
	cmd.Flags().StringVar(&against, "against", "", "report examples of FILE that also appear in this file (leakage)")
	return cmd
}

func newDataConvertCmd() *cobra.Command {
	var (
		f           dataFlags
		to, outPath string
		system      string
	)
	cmd := &cobra.Command{
		Use:   "convert FILE",
		Short: "Convert to tunelab JSONL or OpenAI chat JSONL (for fine-tuning)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if outPath == "" {
				return fmt.Errorf("--out is required: where to write the converted file")
			}
			ds, err := f.load(out, args[0])
			if err != nil {
				return err
			}
			switch to {
			case "openai-chat", "chat":
				err = dataset.WriteChatJSONL(outPath, ds.Examples, system)
			case "jsonl":
				err = dataset.WriteJSONL(outPath, ds.Examples)
			default:
				return fmt.Errorf("--to %q: use openai-chat or jsonl", to)
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "wrote %d examples to %s\n", len(ds.Examples), outPath)
			return nil
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&to, "to", "openai-chat", "output format: openai-chat or jsonl")
	cmd.Flags().StringVar(&outPath, "out", "", "output file")
	cmd.Flags().StringVar(&system, "system", "", "system prompt to put in every chat example")
	return cmd
}
