// Command train measures tunelab's LoRA training step: forward, backward
// and AdamW on internal/engine's ggml training graph, for a generated model
// shaped like SmolLM-135M, with a rank-16 adapter on all seven per-layer
// projections. It prints one JSON object with seconds per step, tokens per
// second and the matrix-multiply GFLOP/s achieved; torch_step.py prints the
// same fields for the same model in PyTorch, and run.sh runs both.
//
// Build and run it with the engine's SIMD flags:
//
//	eval "$(make -s engine-env)"; go run ./bench/train -rows 1 -steps 5
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/tunelab/tunelab/internal/engine"
	"github.com/tunelab/tunelab/internal/gguf"
)

// seqLen is fixed by the question being asked (128-token sequences).
const seqLen = 128

const (
	loraRank  = 16
	loraAlpha = 32
	warmups   = 2
)

// result is the JSON both this program and torch_step.py print; run.sh
// reads the same field names from each.
type result struct {
	Impl           string    `json:"impl"`
	Optimizer      string    `json:"optimizer"`
	Threads        int       `json:"threads"`
	Rows           int       `json:"rows"`
	SeqLen         int       `json:"seq_len"`
	TokensPerStep  int       `json:"tokens_per_step"`
	Steps          int       `json:"steps"`
	SecondsPerStep float64   `json:"seconds_per_step"`
	MedianStep     float64   `json:"median_step_seconds"`
	TokensPerS     float64   `json:"tokens_per_s"`
	GFLOPPerStep   float64   `json:"gflop_per_step"`
	GFLOPPerS      float64   `json:"gflop_per_s"`
	ForwardSeconds float64   `json:"forward_seconds"`
	OptSeconds     float64   `json:"optimizer_seconds"`
	LossFirst      float64   `json:"loss_first"`
	LossLast       float64   `json:"loss_last"`
	StepSeconds    []float64 `json:"step_seconds"`
	SetupSeconds   float64   `json:"setup_seconds"`
}

func main() {
	rows := flag.Int("rows", 1, "sequences of 128 tokens per step")
	steps := flag.Int("steps", 5, "measured optimiser steps (after 2 warm-up steps)")
	threads := flag.Int("threads", runtime.NumCPU(), "threads for the training graph")
	optimizer := flag.String("optimizer", "engine", "AdamW by the engine's Trainer.Step (engine) or in Go on copied tensors (host)")
	flag.Parse()
	if err := run(*rows, *steps, *threads, *optimizer); err != nil {
		fmt.Fprintln(os.Stderr, "bench/train:", err)
		os.Exit(1)
	}
}

func run(rows, steps, threads int, optimizer string) error {
	if rows < 1 || steps < 1 || threads < 1 {
		return fmt.Errorf("want -rows >= 1, -steps >= 1 and -threads >= 1")
	}
	if optimizer != "engine" && optimizer != "host" {
		return fmt.Errorf("-optimizer %q: want engine or host", optimizer)
	}
	setup := time.Now()
	dir, err := os.MkdirTemp("", "tunelab-bench-train-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "bench-135m-f16.gguf")
	if err := gguf.GenerateLlama(path, gguf.Bench135M()); err != nil {
		return err
	}
	h, err := gguf.ReadHeader(path)
	if err != nil {
		return err
	}
	shape, err := engine.ShapeOf(h)
	if err != nil {
		return err
	}
	tr, err := engine.NewTrainer(shape, engine.TrainOptions{
		Rank: loraRank, Alpha: loraAlpha, Targets: engine.LoRATargets, Threads: threads,
	})
	if err != nil {
		return err
	}
	defer tr.Close()
	if err := tr.LoadWeights(h); err != nil {
		return err
	}
	if err := tr.InitLoRA(1); err != nil {
		return err
	}
	// The file is no longer needed once the weights are in the trainer, and
	// removing it now keeps the page cache from competing with the run.
	os.Remove(path)
	setupSeconds := time.Since(setup).Seconds()

	batch := makeBatch(rows, shape.Vocab)
	opt := engine.AdamW{LR: 1e-4, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}
	host := newHostAdamW(tr)
	var optTime float64
	step := func(iter int64) (float64, error) {
		loss, err := tr.Backward(batch, 1, 0, 0)
		if err != nil {
			return 0, err
		}
		start := time.Now()
		if optimizer == "host" {
			if err := host.step(opt, iter); err != nil {
				return 0, err
			}
		} else {
			tr.Step(opt, iter)
		}
		tr.ZeroGrad()
		optTime += time.Since(start).Seconds()
		return float64(loss), nil
	}

	var iter int64
	for range warmups {
		iter++
		if _, err := step(iter); err != nil {
			return err
		}
	}
	res := result{
		Impl: "tunelab", Optimizer: optimizer, Threads: threads, Rows: rows, SeqLen: seqLen, TokensPerStep: rows * seqLen,
		Steps: steps, SetupSeconds: setupSeconds,
	}
	var total float64
	optTime = 0
	for i := range steps {
		iter++
		start := time.Now()
		loss, err := step(iter)
		if err != nil {
			return err
		}
		d := time.Since(start).Seconds()
		total += d
		res.StepSeconds = append(res.StepSeconds, d)
		if i == 0 {
			res.LossFirst = loss
		}
		res.LossLast = loss
	}
	// Forward alone (no gradients), to see how the step splits.
	start := time.Now()
	for range steps {
		if _, err := tr.Loss(batch); err != nil {
			return err
		}
	}
	res.ForwardSeconds = time.Since(start).Seconds() / float64(steps)

	res.SecondsPerStep = total / float64(steps)
	res.OptSeconds = optTime / float64(steps)
	sorted := slices.Sorted(slices.Values(res.StepSeconds))
	res.MedianStep = sorted[len(sorted)/2]
	res.TokensPerS = float64(res.TokensPerStep) / res.SecondsPerStep
	res.GFLOPPerStep = stepFLOPs(shape, rows, seqLen, loraRank) / 1e9
	res.GFLOPPerS = res.GFLOPPerStep / res.SecondsPerStep
	out, err := json.Marshal(res)
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}

// makeBatch is rows copies of one 129-token sequence, shifted so that every
// one of the 128 positions has a target. torch_step.py builds the same
// tokens with the same formula.
func makeBatch(rows, vocab int) engine.Batch {
	n := rows * seqLen
	b := engine.Batch{Rows: rows, Len: seqLen, Tokens: make([]int32, n), Pos: make([]int32, n), Seg: make([]int32, n), Targets: make([]int32, n)}
	tok := func(r, i int) int32 { return int32((r*1009 + i*7919 + 13) % vocab) }
	for r := range rows {
		for i := range seqLen {
			k := r*seqLen + i
			b.Tokens[k] = tok(r, i)
			b.Targets[k] = tok(r, i+1)
			b.Pos[k] = int32(i)
		}
	}
	return b
}
