package finetune

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tunelab/tunelab/internal/engine"
	"github.com/tunelab/tunelab/internal/gguf"
)

func TestPack(t *testing.T) {
	ex := func(p, c int) Example {
		e := Example{}
		for i := range p {
			e.Prompt = append(e.Prompt, int32(10+i))
		}
		for i := range c {
			e.Completion = append(e.Completion, int32(50+i))
		}
		return e
	}
	cases := []struct {
		name        string
		examples    []Example
		rows, len   int
		wantBatches int
		wantTargets int
		wantErr     bool
	}{
		{"two fit in one row", []Example{ex(3, 2), ex(2, 2)}, 1, 10, 1, 2 + 2, false},
		{"a third opens a row", []Example{ex(3, 2), ex(2, 2), ex(4, 3)}, 1, 10, 2, 2 + 2 + 3, false},
		{"rows group into batches", []Example{ex(6, 3), ex(6, 3), ex(6, 3)}, 2, 10, 2, 9, false},
		{"too long", []Example{ex(9, 3)}, 1, 10, 0, 0, true},
		{"nothing to learn", []Example{ex(3, 0)}, 1, 10, 0, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bs, err := Pack(tc.examples, tc.rows, tc.len)
			if tc.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(bs) != tc.wantBatches {
				t.Fatalf("%d batches, want %d", len(bs), tc.wantBatches)
			}
			n := 0
			for _, b := range bs {
				n += int(countTargets(b))
				if len(b.Tokens) != b.Rows*b.Len {
					t.Fatalf("batch of %d tokens for %d x %d", len(b.Tokens), b.Rows, b.Len)
				}
			}
			// The last completion token predicts nothing, the prompt's last
			// token predicts the first completion token.
			if n != tc.wantTargets {
				t.Errorf("%d targets, want %d", n, tc.wantTargets)
			}
		})
	}
	t.Run("targets are the completion, shifted", func(t *testing.T) {
		bs, _ := Pack([]Example{ex(2, 2)}, 1, 6)
		want := []int32{-1, 50, 51, -1, -1, -1}
		if !slices.Equal(bs[0].Targets, want) {
			t.Errorf("targets %v, want %v", bs[0].Targets, want)
		}
	})
}

func newTrainer(t *testing.T, path string) *engine.Trainer {
	t.Helper()
	h, err := gguf.ReadHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	shape, err := engine.ShapeOf(h)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := engine.NewTrainer(shape, engine.TrainOptions{Rank: 4, Alpha: 8, Targets: []string{"q", "v", "down"}, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	if err := tr.LoadWeights(h); err != nil {
		t.Fatal(err)
	}
	if err := tr.InitLoRA(3); err != nil {
		t.Fatal(err)
	}
	return tr
}

// examples is a toy task: a prompt token names which phrase follows.
func examples(n int) []Example {
	var out []Example
	for i := range n {
		k := int32(i % 3)
		out = append(out, Example{Prompt: []int32{1, 100 + k, 200}, Completion: []int32{300 + 3*k, 301 + 3*k, 302 + 3*k}})
	}
	return out
}

func TestTrainLearnsAndResumes(t *testing.T) {
	model := filepath.Join(t.TempDir(), "m.gguf")
	if err := gguf.GenerateLlama(model, gguf.Tiny()); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Epochs: 4, LR: 1e-2, WarmupSteps: 2, Rows: 2, RowLen: 16, Accum: 2, ClipNorm: 1, Dropout: 0.05, Seed: 5, CheckpointEvery: 1}
	train, valid := examples(24), examples(6)

	straight := newTrainer(t, model)
	before, _ := MeanLoss(straight, valid, 2, 16)
	res, err := Train(context.Background(), straight, train, valid, cfg, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.BestValid > before/3 {
		t.Errorf("validation loss %.3f -> %.3f, want a fall to under a third", before, res.BestValid)
	}
	if len(res.Valid) != cfg.Epochs || res.Stopped != "completed" {
		t.Errorf("%d validations, stopped %q", len(res.Valid), res.Stopped)
	}
	want, _ := straight.Tensor("blk.1.ffn_down.weight.lora_b")

	// Interrupt after 5 steps, then resume in a new trainer.
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	first := newTrainer(t, model)
	_, err = Train(ctx, first, train, valid, cfg, dir, func(p Progress) {
		if p.Step == 5 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: error %v", err)
	}
	second := newTrainer(t, model)
	res2, err := Train(context.Background(), second, train, valid, cfg, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := second.Tensor("blk.1.ffn_down.weight.lora_b")
	if !res2.Resumed || res2.Steps != res.Steps {
		t.Errorf("resumed=%v after %d steps, want resumed after %d", res2.Resumed, res2.Steps, res.Steps)
	}
	var worst float64
	for i := range want {
		worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
	}
	if worst > 1e-6 {
		t.Errorf("resumed weights differ from an uninterrupted run's by %g", worst)
	}
	t.Run("a finished job returns its result without training", func(t *testing.T) {
		third := newTrainer(t, model)
		res3, err := Train(context.Background(), third, train, valid, cfg, dir, func(Progress) { t.Fatal("trained again") })
		if err != nil {
			t.Fatal(err)
		}
		if res3.BestValid != res2.BestValid {
			t.Errorf("best loss %g, want %g", res3.BestValid, res2.BestValid)
		}
	})
}

func TestLRSchedule(t *testing.T) {
	c := Config{LR: 1, WarmupSteps: 10, MinLRRatio: 0.1}
	cases := []struct {
		name string
		step int
		want float64
	}{
		{"warm-up starts low", 1, 0.1},
		{"peak after warm-up", 10, 1},
		{"half-way down the cosine", 60, 0.55},
		{"floor at the end", 110, 0.1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := lrAt(c, tc.step, 110); math.Abs(got-tc.want) > 1e-9 {
				t.Errorf("lr %g, want %g", got, tc.want)
			}
		})
	}
}
