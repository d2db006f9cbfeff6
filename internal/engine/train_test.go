package engine

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/gguf"
)

// newTrainer builds a trainer on a freshly generated tiny model, with an
// adapter of the given rank on every target (rank 0: full training).
func newTrainer(t *testing.T, path string, rank int) *Trainer {
	t.Helper()
	h, err := gguf.ReadHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	shape, err := ShapeOf(h)
	if err != nil {
		t.Fatal(err)
	}
	opts := TrainOptions{Rank: rank, Alpha: 2 * float32(rank), Targets: LoRATargets, Full: rank == 0, Threads: 1}
	if rank == 0 {
		opts.Targets = nil
	}
	tr, err := NewTrainer(shape, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	if err := tr.LoadWeights(h); err != nil {
		t.Fatal(err)
	}
	if rank > 0 {
		if err := tr.InitLoRA(1); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

// seqBatch is one row: every position predicts the next token.
func seqBatch(toks []int32) Batch {
	n := len(toks)
	b := Batch{Rows: 1, Len: n, Tokens: toks, Pos: make([]int32, n), Seg: make([]int32, n), Targets: make([]int32, n)}
	for i := range n {
		b.Pos[i] = int32(i)
		b.Targets[i] = -1
		if i+1 < n {
			b.Targets[i] = toks[i+1]
		}
	}
	return b
}

// randomizeLoRA gives B random values so the adapter changes the output.
func randomizeLoRA(t *testing.T, tr *Trainer, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 3))
	for _, name := range tr.Params() {
		if !strings.HasSuffix(name, ".lora_b") {
			continue
		}
		v, _ := tr.Tensor(name)
		for i := range v {
			v[i] = float32(rng.NormFloat64() * 0.05)
		}
		if err := tr.SetTensor(name, v); err != nil {
			t.Fatal(err)
		}
	}
}

func maxRelDiff(a, b []float32) float64 {
	var worst, scale float64
	for i := range a {
		worst = math.Max(worst, math.Abs(float64(a[i]-b[i])))
		scale = math.Max(scale, math.Abs(float64(b[i])))
	}
	return worst / math.Max(scale, 1e-6)
}

// The training graph must compute what llama.cpp computes at inference,
// or a model trained here would behave differently when it is served.
func TestTrainerMatchesInference(t *testing.T) {
	path := newModelFile(t, gguf.Tiny())
	m := loadFile(t, path, Options{ContextSize: 128})
	toks, err := m.Tokenize("The market is full of carts, and the carts are full of fruit.", true, false)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTrainer(t, path, 4)
	randomizeLoRA(t, tr, 9)
	adapterPath := filepath.Join(t.TempDir(), "a.gguf")
	if err := tr.SaveLoRA(adapterPath); err != nil {
		t.Fatal(err)
	}
	ad, err := m.LoadAdapter(adapterPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, all, err := tr.Logits(seqBatch(toks))
	if err != nil {
		t.Fatal(err)
	}
	v := tr.Shape().Vocab
	last := all[(len(toks)-1)*v:]

	cases := []struct {
		name     string
		adapters []AdapterUse
		want     float64 // the largest relative difference allowed (<0: must differ)
	}{
		{"with the adapter", []AdapterUse{{Adapter: ad, Scale: 1}}, 1e-3},
		{"without it the logits differ", nil, -0.01},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ref, err := m.Logits(ctx, toks, tc.adapters)
			if err != nil {
				t.Fatal(err)
			}
			d := maxRelDiff(last, ref)
			if tc.want >= 0 && d > tc.want {
				t.Errorf("largest relative difference from llama.cpp %g, want <= %g", d, tc.want)
			}
			if tc.want < 0 && d < -tc.want {
				t.Errorf("relative difference %g: the adapter changed nothing", d)
			}
		})
	}
}

// Sequences packed into one row must not see each other: each scores as
// it would alone.
func TestPackingIsolatesSequences(t *testing.T) {
	tr := newTrainer(t, newModelFile(t, gguf.Tiny()), 4)
	randomizeLoRA(t, tr, 2)
	a := []int32{1, 40, 41, 42, 43, 44}
	b := []int32{1, 50, 51, 52}
	packed := Batch{Rows: 1, Len: len(a) + len(b)}
	for s, seq := range [][]int32{a, b} {
		one := seqBatch(seq)
		packed.Tokens = append(packed.Tokens, one.Tokens...)
		packed.Pos = append(packed.Pos, one.Pos...)
		packed.Targets = append(packed.Targets, one.Targets...)
		for range seq {
			packed.Seg = append(packed.Seg, int32(s))
		}
	}
	_, got, err := tr.Logits(packed)
	if err != nil {
		t.Fatal(err)
	}
	v := tr.Shape().Vocab
	_, wantA, _ := tr.Logits(seqBatch(a))
	_, wantB, _ := tr.Logits(seqBatch(b))
	if d := maxRelDiff(got[:len(a)*v], wantA); d > 1e-5 {
		t.Errorf("first sequence differs by %g when packed", d)
	}
	if d := maxRelDiff(got[len(a)*v:], wantB); d > 1e-5 {
		t.Errorf("second sequence differs by %g when packed", d)
	}

	// Two rows of one batch are independent too, gradients included.
	two := seqBatch(append(slices.Clone(a), 60, 61, 62, 63))
	rows := Batch{Rows: 2, Len: two.Len}
	for r := range 2 {
		rows.Tokens = append(rows.Tokens, two.Tokens...)
		rows.Pos = append(rows.Pos, two.Pos...)
		rows.Seg = append(rows.Seg, two.Seg...)
		rows.Targets = append(rows.Targets, two.Targets...)
		_ = r
	}
	lossOne, err := tr.Backward(two, 1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	gradOne, _ := tr.Tensor("blk.0.attn_k.weight.lora_b.grad")
	tr.ZeroGrad()
	lossTwo, err := tr.Backward(rows, 1, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	gradTwo, _ := tr.Tensor("blk.0.attn_k.weight.lora_b.grad")
	tr.ZeroGrad()
	if math.Abs(float64(lossOne-lossTwo)) > 1e-5 || maxRelDiff(gradTwo, gradOne) > 1e-4 {
		t.Errorf("a batch of two equal rows: loss %g and gradient off by %g, want loss %g and the same gradient",
			lossTwo, maxRelDiff(gradTwo, gradOne), lossOne)
	}
}

// pattern is a batch the model can learn: a repeated phrase.
func pattern() Batch {
	seq := []int32{1}
	for range 6 {
		seq = append(seq, 30, 31, 32, 33, 34, 35, 36, 37)
	}
	return seqBatch(seq)
}

func trainSteps(t *testing.T, tr *Trainer, b Batch, from, n int) []float32 {
	t.Helper()
	var losses []float32
	for i := from; i < from+n; i++ {
		loss, err := tr.Backward(b, 1, 0.1, uint64(i))
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, loss)
		tr.ClipGrad(1)
		tr.Step(AdamW{LR: 1e-2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01}, int64(i+1))
		tr.ZeroGrad()
	}
	return losses
}

func TestTrainingLowersLoss(t *testing.T) {
	cases := []struct {
		name string
		rank int
	}{
		{"LoRA", 8},
		{"full fine-tuning", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTrainer(t, newModelFile(t, gguf.Tiny()), tc.rank)
			before, err := tr.Loss(pattern())
			if err != nil {
				t.Fatal(err)
			}
			trainSteps(t, tr, pattern(), 0, 40)
			after, err := tr.Loss(pattern())
			if err != nil {
				t.Fatal(err)
			}
			if after > before/4 {
				t.Errorf("loss %.3f -> %.3f after 40 steps, want a fall to under a quarter", before, after)
			}
		})
	}
}

// A checkpoint restores the adapter and the optimiser moments, so training
// resumed from it continues exactly as if it had never stopped.
func TestCheckpointResumesExactly(t *testing.T) {
	path := newModelFile(t, gguf.Tiny())
	straight := newTrainer(t, path, 4)
	trainSteps(t, straight, pattern(), 0, 3)
	ckpt := filepath.Join(t.TempDir(), "ckpt.gguf")
	if err := straight.SaveCheckpoint(ckpt, []gguf.KV{{Key: "tunelab.step", Value: uint32(3)}}); err != nil {
		t.Fatal(err)
	}
	want := trainSteps(t, straight, pattern(), 3, 3)

	resumed := newTrainer(t, path, 4)
	h, err := resumed.LoadCheckpoint(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if step, _ := h.Uint("tunelab.step"); step != 3 {
		t.Fatalf("checkpoint step %d, want 3", step)
	}
	got := trainSteps(t, resumed, pattern(), 3, 3)
	if !slices.Equal(got, want) {
		t.Errorf("losses after resuming %v, want %v", got, want)
	}
	t.Run("another job's checkpoint is refused", func(t *testing.T) {
		other := newTrainer(t, path, 0)
		if _, err := other.LoadCheckpoint(ckpt); err == nil || !strings.Contains(err.Error(), "does not belong") {
			t.Fatalf("error %v, want one saying the checkpoint belongs elsewhere", err)
		}
	})
}

func TestMergedModelEqualsAdapter(t *testing.T) {
	path := newModelFile(t, gguf.Tiny())
	tr := newTrainer(t, path, 4)
	randomizeLoRA(t, tr, 5)
	h, err := gguf.ReadHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	merged := filepath.Join(t.TempDir(), "merged.gguf")
	if err := tr.SaveModel(merged, h.KV, gguf.F32); err != nil {
		t.Fatal(err)
	}
	m := loadFile(t, merged, Options{ContextSize: 64})
	toks := []int32{1, 60, 61, 62, 63}
	ref, err := m.Logits(context.Background(), toks, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, all, err := tr.Logits(seqBatch(toks))
	if err != nil {
		t.Fatal(err)
	}
	v := tr.Shape().Vocab
	if d := maxRelDiff(all[(len(toks)-1)*v:], ref); d > 1e-3 {
		t.Errorf("merged model differs from base+adapter by %g", d)
	}
}

func TestTrainerRejects(t *testing.T) {
	tr := newTrainer(t, newModelFile(t, gguf.Tiny()), 2)
	good := seqBatch([]int32{1, 5, 6})
	cases := []struct {
		name  string
		batch func() Batch
		want  string
	}{
		{"token outside the vocabulary", func() Batch { b := good; b.Tokens = []int32{1, 5, 99999}; return b }, "outside the vocabulary"},
		{"short target list", func() Batch { b := good; b.Targets = []int32{5}; return b }, "must each have"},
		{"negative position", func() Batch { b := good; b.Pos = []int32{0, -1, 2}; return b }, "negative position"},
		{"nothing to learn", func() Batch { b := good; b.Targets = []int32{-1, -1, -1}; return b }, "no target"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tr.Loss(tc.batch())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("unknown target", func(t *testing.T) {
		_, err := NewTrainer(tr.Shape(), TrainOptions{Rank: 2, Targets: []string{"qkv"}})
		if err == nil || !strings.Contains(err.Error(), "qkv") {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		tr.Close()
		if _, err := tr.Loss(good); !errors.Is(err, ErrClosed) {
			t.Fatalf("error %v, want ErrClosed", err)
		}
	})
}

// The gradient ggml's autodiff computes must match the slope of the loss
// measured by nudging single adapter weights.
func TestGradientMatchesFiniteDifference(t *testing.T) {
	cases := []struct {
		name    string
		rank    int // 0: full training
		tensors []string
	}{
		{name: "LoRA", rank: 4, tensors: []string{"blk.0.attn_q.weight.lora_a", "blk.1.ffn_down.weight.lora_b", "blk.0.attn_v.weight.lora_b"}},
		// Full training's weights go through attention scores (q, k),
		// values, the MLP and the tied embeddings.
		{name: "full", tensors: []string{"blk.1.attn_q.weight", "blk.1.attn_k.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight",
			"blk.1.attn_v.weight", "blk.0.attn_output.weight", "blk.1.ffn_gate.weight", "blk.0.ffn_down.weight", "token_embd.weight"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTrainer(t, newModelFile(t, gguf.Tiny()), tc.rank)
			if tc.rank > 0 {
				randomizeLoRA(t, tr, 4)
			}
			b := pattern()
			tr.ZeroGrad()
			if _, err := tr.Backward(b, 1, 0, 0); err != nil {
				t.Fatal(err)
			}
			for _, name := range tc.tensors {
				t.Run(name, func(t *testing.T) { checkFiniteDifference(t, tr, b, name) })
			}
		})
	}
}

// checkFiniteDifference compares the gradient's largest entry in tensor
// name with a central difference of the loss.
func checkFiniteDifference(t *testing.T, tr *Trainer, b Batch, name string) {
	grad, err := tr.Tensor(name + ".grad")
	if err != nil {
		t.Fatal(err)
	}
	w, _ := tr.Tensor(name)
	i := 0
	for j := range grad {
		if math.Abs(float64(grad[j])) > math.Abs(float64(grad[i])) {
			i = j
		}
	}
	const h = 1e-2
	loss := func(delta float32) float64 {
		v := slices.Clone(w)
		v[i] += delta
		if err := tr.SetTensor(name, v); err != nil {
			t.Fatal(err)
		}
		l, err := tr.Loss(b)
		if err != nil {
			t.Fatal(err)
		}
		return float64(l)
	}
	numeric := (loss(h) - loss(-h)) / (2 * h)
	if err := tr.SetTensor(name, w); err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(numeric - float64(grad[i])); d > 0.05*math.Abs(numeric)+1e-4 {
		t.Errorf("gradient %g, finite difference %g", grad[i], numeric)
	}
}

// Deeper models have more adapter tensors than the optimiser's graph was
// once sized for; a step must work on them too.
func TestStepOnADeeperModel(t *testing.T) {
	cfg := gguf.Tiny()
	cfg.Layers = 12
	tr := newTrainer(t, newModelFile(t, cfg), 2)
	before, _ := tr.Tensor("blk.11.ffn_down.weight.lora_b")
	losses := trainSteps(t, tr, pattern(), 0, 2)
	after, _ := tr.Tensor("blk.11.ffn_down.weight.lora_b")
	if len(losses) != 2 || slices.Equal(before, after) {
		t.Fatalf("two steps on a 12-layer model left the last adapter unchanged")
	}
}
