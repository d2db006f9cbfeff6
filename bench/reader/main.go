// Command reader runs the reading-comprehension recipe of
// internal/pretrain/reading: it generates fictional help centres, renders
// each question as `tunelab eval` renders a zero-shot prompt with
// retrieval, fine-tunes the bundled base model to answer with the fact it
// reads, and writes the model with a JSON file of its recipe and
// measurements beside it.
//
//	eval "$(make -s engine-env)"
//	nice -n 15 go run ./bench/reader -out /tmp/reader/best/reader.gguf -work /tmp/reader/work
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/tunelab/tunelab/internal/pretrain/reading"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "reader:", err)
		os.Exit(1)
	}
}

func run() error {
	r := reading.Recipe{
		Name: "tunelab-reader-4m", Seed: 1, TrainShops: 15, HeldShops: 4, ShortShops: 30, ShortK: 1,
		Render: reading.Render{
			Instruction: "Answer the customer's question about Northwind Gadgets in a few words.",
			ChunkTokens: 120, Overlap: 20, K: 3,
		},
		OnlyFound: true, Full: true, Epochs: 1, LR: 2e-3, Warmup: 10, Rows: 2, RowLen: 768, Accum: 2, WeightDecay: 0.0,
		EvalEvery: 40, EvalLossItems: 48, EvalAnswers: 60, MaxTokens: 64,
	}
	base := flag.String("base", "internal/example/models/tunelab-base.gguf", "the model to start from")
	out := flag.String("out", "/tmp/reader/best/reader.gguf", "the tuned model's file (its report goes beside it as .json)")
	work := flag.String("work", "/tmp/reader/work", "folder for the shops, indexes and the training job")
	knowledge := flag.String("example-knowledge", "internal/example/data/knowledge", "the evaluation knowledge whose facts the data must not hold")
	questions := flag.String("example-questions", "internal/example/data/questions.jsonl", "the evaluation questions whose answers the data must not hold")
	threads := flag.Int("threads", 2, "CPU threads")
	flag.IntVar(&r.TrainShops, "train-shops", r.TrainShops, "shops to train on")
	flag.IntVar(&r.HeldShops, "held-shops", r.HeldShops, "held-out shops")
	flag.IntVar(&r.Epochs, "epochs", r.Epochs, "epochs")
	flag.Float64Var(&r.LR, "lr", r.LR, "peak learning rate")
	flag.IntVar(&r.Warmup, "warmup", r.Warmup, "warm-up steps")
	flag.IntVar(&r.Rows, "rows", r.Rows, "rows per micro-batch")
	flag.IntVar(&r.RowLen, "row-len", r.RowLen, "tokens per row (longer examples are dropped)")
	flag.IntVar(&r.Accum, "accum", r.Accum, "micro-batches per step")
	flag.IntVar(&r.ShortShops, "short-shops", r.ShortShops, "extra training shops rendered with only -short-k passages")
	flag.IntVar(&r.ShortK, "short-k", r.ShortK, "passages in the short shops' prompts")
	flag.IntVar(&r.Rank, "rank", 0, "LoRA rank (0: full fine-tuning)")
	flag.BoolVar(&r.OnlyFound, "only-found", r.OnlyFound, "train only on questions whose answer was retrieved")
	flag.IntVar(&r.EvalEvery, "eval-every", r.EvalEvery, "steps between held-out loss checks")
	flag.IntVar(&r.EvalAnswers, "eval-answers", r.EvalAnswers, "held-out questions answered by generation")
	flag.Uint64Var(&r.Seed, "seed", r.Seed, "data and training seed")
	flag.Parse()
	r.Full = r.Rank == 0
	if r.Rank > 0 {
		r.Alpha = float32(2 * r.Rank)
	}

	forbid, err := reading.ExampleFacts(*knowledge, *questions)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	start := time.Now()
	logf := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "[%5.0fs] %s\n", time.Since(start).Seconds(), fmt.Sprintf(format, args...))
	}
	rep, err := reading.Run(ctx, *base, *out, *work, forbid, r, *threads, logf)
	if err != nil {
		return err
	}
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	path := strings.TrimSuffix(*out, filepath.Ext(*out)) + ".json"
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	logf("wrote %s and %s", *out, path)
	return nil
}
