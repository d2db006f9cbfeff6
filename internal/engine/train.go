package engine

/*
#include <stdlib.h>
#include "train.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"unsafe"

	"github.com/tunelab/tunelab/internal/gguf"
)

// Shape is a Llama-architecture model's hyperparameters, as training needs
// them.
type Shape struct {
	Vocab       int
	Embedding   int
	Layers      int
	Heads       int
	KVHeads     int
	FeedForward int
	Context     int
	NormEps     float32
	RopeBase    float32
	// Tied means the model has no output.weight: the output layer reuses
	// token_embd.
	Tied bool
}

// ShapeOf reads a model's shape from its GGUF header. Only the "llama"
// architecture (and shapes that are llama by another name) can be trained.
func ShapeOf(h *gguf.Header) (Shape, error) {
	arch := h.Architecture()
	if arch != "llama" {
		return Shape{}, fmt.Errorf("%s: training supports the llama architecture, not %q", h.Path, arch)
	}
	u := func(key string) int {
		v, _ := h.Uint(arch + "." + key)
		return int(v)
	}
	s := Shape{
		Embedding: u("embedding_length"), Layers: u("block_count"), Heads: u("attention.head_count"),
		KVHeads: u("attention.head_count_kv"), FeedForward: u("feed_forward_length"),
		Context: u("context_length"), NormEps: 1e-5, RopeBase: 10000,
	}
	if s.KVHeads == 0 {
		s.KVHeads = s.Heads
	}
	if v, ok := h.Float(arch + ".attention.layer_norm_rms_epsilon"); ok {
		s.NormEps = float32(v)
	}
	if v, ok := h.Float(arch + ".rope.freq_base"); ok {
		s.RopeBase = float32(v)
	}
	emb, ok := h.Tensor("token_embd.weight")
	if !ok || len(emb.Dims) != 2 {
		return Shape{}, fmt.Errorf("%s: no token_embd.weight matrix", h.Path)
	}
	s.Vocab = int(emb.Dims[1])
	_, hasOut := h.Tensor("output.weight")
	s.Tied = !hasOut
	if s.Embedding == 0 || s.Layers == 0 || s.Heads == 0 || s.FeedForward == 0 {
		return Shape{}, fmt.Errorf("%s: the header lacks the model's dimensions", h.Path)
	}
	if rd, ok := h.Uint(arch + ".rope.dimension_count"); ok && int(rd) != s.Embedding/s.Heads {
		return Shape{}, fmt.Errorf("%s: partial rotary embeddings (%d of %d dims) cannot be trained", h.Path, rd, s.Embedding/s.Heads)
	}
	return s, nil
}

// LoRATargets are the per-layer weights an adapter can attach to, by their
// short names, in the order the C side numbers them.
var LoRATargets = []string{"q", "k", "v", "o", "gate", "up", "down"}

var loraTensorNames = map[string]string{
	"q": "attn_q", "k": "attn_k", "v": "attn_v", "o": "attn_output",
	"gate": "ffn_gate", "up": "ffn_up", "down": "ffn_down",
}

// TrainOptions says what is trained.
type TrainOptions struct {
	// Rank of the LoRA adapter; 0 with Full trains the whole model.
	Rank  int
	Alpha float32
	// Targets are short names from LoRATargets.
	Targets []string
	// Full trains every weight (pre-training, or full fine-tuning).
	Full    bool
	Threads int
}

// Trainer holds a model, its adapter and the optimiser state in ggml
// tensors, and runs training steps on them. It is not safe for concurrent
// use; its methods serialise on a mutex.
type Trainer struct {
	mu     sync.Mutex
	c      *C.tl_trainer
	shape  Shape
	opts   TrainOptions
	index  map[string]int
	names  []string
	sizes  []int
	params []string
}

// NewTrainer allocates a model of the given shape (weights zero until set)
// with the adapter and optimiser state that opts ask for.
func NewTrainer(shape Shape, opts TrainOptions) (*Trainer, error) {
	var mask uint32
	for _, t := range opts.Targets {
		i := indexOf(LoRATargets, t)
		if i < 0 {
			return nil, fmt.Errorf("LoRA target %q: want some of %s", t, strings.Join(LoRATargets, ", "))
		}
		mask |= 1 << i
	}
	if opts.Rank < 0 || opts.Rank > shape.Embedding {
		return nil, fmt.Errorf("LoRA rank %d: want 1 to %d", opts.Rank, shape.Embedding)
	}
	if opts.Rank > 0 && opts.Alpha <= 0 {
		opts.Alpha = float32(opts.Rank)
	}
	p := C.tl_train_params{
		n_vocab: C.int32_t(shape.Vocab), n_embd: C.int32_t(shape.Embedding), n_layer: C.int32_t(shape.Layers),
		n_head: C.int32_t(shape.Heads), n_head_kv: C.int32_t(shape.KVHeads), n_ff: C.int32_t(shape.FeedForward),
		norm_eps: C.float(shape.NormEps), rope_base: C.float(shape.RopeBase), tied: C.bool(shape.Tied),
		lora_rank: C.int32_t(opts.Rank), lora_targets: C.uint32_t(mask), full: C.bool(opts.Full),
		n_threads: C.int32_t(max(opts.Threads, 1)),
	}
	if opts.Rank > 0 {
		p.lora_scale = C.float(opts.Alpha / float32(opts.Rank))
	}
	errBuf := make([]byte, 256)
	c := C.tl_train_new(&p, (*C.char)(unsafe.Pointer(&errBuf[0])), C.size_t(len(errBuf)))
	if c == nil {
		return nil, fmt.Errorf("new trainer: %s", cString(errBuf))
	}
	t := &Trainer{c: c, shape: shape, opts: opts, index: map[string]int{}}
	n := int(C.tl_train_n_tensors(c))
	for i := range n {
		name := C.GoString(C.tl_train_tensor_name(c, C.int32_t(i)))
		t.index[name] = i
		t.names = append(t.names, name)
		t.sizes = append(t.sizes, int(C.tl_train_tensor_nelem(c, C.int32_t(i))))
		if C.tl_train_tensor_trainable(c, C.int32_t(i)) {
			t.params = append(t.params, name)
		}
	}
	return t, nil
}

func cString(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// Shape is the model's shape.
func (t *Trainer) Shape() Shape { return t.shape }

// Options are what the trainer was built to train.
func (t *Trainer) Options() TrainOptions { return t.opts }

// Tensors names every tensor: weights, adapter, then each trainable
// tensor's NAME.grad, NAME.adam_m and NAME.adam_v.
func (t *Trainer) Tensors() []string { return append([]string(nil), t.names...) }

// Params names the trainable tensors.
func (t *Trainer) Params() []string { return append([]string(nil), t.params...) }

// Tensor copies a tensor out.
func (t *Trainer) Tensor(name string) ([]float32, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.index[name]
	if !ok || t.c == nil {
		return nil, fmt.Errorf("tensor %s: no such tensor", name)
	}
	out := make([]float32, t.sizes[i])
	C.tl_train_get(t.c, C.int32_t(i), (*C.float)(unsafe.Pointer(&out[0])))
	return out, nil
}

// SetTensor copies values into a tensor.
func (t *Trainer) SetTensor(name string, v []float32) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	i, ok := t.index[name]
	if !ok || t.c == nil {
		return fmt.Errorf("tensor %s: no such tensor", name)
	}
	if len(v) != t.sizes[i] {
		return fmt.Errorf("tensor %s: %d values, want %d", name, len(v), t.sizes[i])
	}
	C.tl_train_set(t.c, C.int32_t(i), (*C.float)(unsafe.Pointer(&v[0])))
	return nil
}

// LoadWeights copies the base model's weights from a GGUF file whose
// shape matches (F32, F16 or Q8_0 tensors; training runs in F32).
func (t *Trainer) LoadWeights(h *gguf.Header) error {
	for _, name := range t.names {
		if strings.Contains(name, ".lora_") || strings.HasSuffix(name, ".grad") ||
			strings.HasSuffix(name, ".adam_m") || strings.HasSuffix(name, ".adam_v") {
			continue
		}
		info, ok := h.Tensor(name)
		if !ok {
			return fmt.Errorf("%s: tensor %s is missing", h.Path, name)
		}
		raw, err := h.ReadTensor(name)
		if err != nil {
			return err
		}
		v, err := gguf.Decode(info.Type, raw)
		if err != nil {
			return fmt.Errorf("%s: tensor %s: %w", h.Path, name, err)
		}
		if err := t.SetTensor(name, v); err != nil {
			return fmt.Errorf("%s: %w", h.Path, err)
		}
	}
	return nil
}

// InitLoRA gives every adapter a fresh start: A uniform in ±1/sqrt(in)
// (the Kaiming-uniform bound PEFT uses) and B zero, so the adapted model
// starts out equal to the base model.
func (t *Trainer) InitLoRA(seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x10ad))
	for _, name := range t.params {
		if !strings.HasSuffix(name, ".lora_a") {
			continue
		}
		i := t.index[name]
		in := t.sizes[i] / t.opts.Rank
		bound := 1 / math.Sqrt(float64(in))
		v := make([]float32, t.sizes[i])
		for j := range v {
			v[j] = float32((rng.Float64()*2 - 1) * bound)
		}
		if err := t.SetTensor(name, v); err != nil {
			return err
		}
		if err := t.SetTensor(strings.TrimSuffix(name, "_a")+"_b", make([]float32, t.sizes[t.index[strings.TrimSuffix(name, "_a")+"_b"]])); err != nil {
			return err
		}
	}
	return nil
}

// Batch is Rows sequences of Len tokens, row-major. Tokens of a row that
// share a Seg value form one packed sequence; Pos restarts with each.
// Targets[i] is the token position i must predict, or -1 for none.
type Batch struct {
	Rows, Len int
	Tokens    []int32
	Pos       []int32
	Seg       []int32
	Targets   []int32
}

// ErrNoTargets means a batch has nothing to learn from.
var ErrNoTargets = errors.New("the batch has no target tokens")

func (t *Trainer) check(b Batch) error {
	n := b.Rows * b.Len
	if b.Rows <= 0 || b.Len <= 0 {
		return fmt.Errorf("batch of %d x %d tokens", b.Rows, b.Len)
	}
	if len(b.Tokens) != n || len(b.Pos) != n || len(b.Seg) != n || len(b.Targets) != n {
		return fmt.Errorf("batch of %d x %d: token, position, segment and target lists must each have %d entries", b.Rows, b.Len, n)
	}
	any := false
	for i := range n {
		if b.Tokens[i] < 0 || int(b.Tokens[i]) >= t.shape.Vocab {
			return fmt.Errorf("batch: token %d at %d is outside the vocabulary of %d", b.Tokens[i], i, t.shape.Vocab)
		}
		if b.Targets[i] >= int32(t.shape.Vocab) {
			return fmt.Errorf("batch: target %d at %d is outside the vocabulary of %d", b.Targets[i], i, t.shape.Vocab)
		}
		if b.Pos[i] < 0 {
			return fmt.Errorf("batch: negative position at %d", i)
		}
		any = any || b.Targets[i] >= 0
	}
	if !any {
		return ErrNoTargets
	}
	return nil
}

func (t *Trainer) run(b Batch, scale float32, backward bool, dropout float32, seed uint64, logits []float32) (float32, error) {
	if err := t.check(b); err != nil {
		return 0, err
	}
	if dropout < 0 || dropout >= 1 {
		return 0, fmt.Errorf("dropout %g: want 0 to below 1", dropout)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.c == nil {
		return 0, ErrClosed
	}
	var loss C.float
	var lp *C.float
	if logits != nil {
		lp = (*C.float)(unsafe.Pointer(&logits[0]))
	}
	errBuf := make([]byte, 256)
	rc := C.tl_train_batch(t.c, C.int32_t(b.Rows), C.int32_t(b.Len),
		(*C.int32_t)(unsafe.Pointer(&b.Tokens[0])), (*C.int32_t)(unsafe.Pointer(&b.Pos[0])),
		(*C.int32_t)(unsafe.Pointer(&b.Seg[0])), (*C.int32_t)(unsafe.Pointer(&b.Targets[0])),
		C.float(scale), C.bool(backward), C.float(dropout), C.uint64_t(seed), &loss, lp,
		(*C.char)(unsafe.Pointer(&errBuf[0])), C.size_t(len(errBuf)))
	if rc != 0 {
		return 0, fmt.Errorf("training step: %s", cString(errBuf))
	}
	return float32(loss), nil
}

// Loss is the batch's mean cross-entropy over its targets, without
// gradients (validation).
func (t *Trainer) Loss(b Batch) (float32, error) { return t.run(b, 1, false, 0, 0, nil) }

// Logits runs the batch forward and returns its loss and every position's
// logits (Rows*Len*Vocab values).
func (t *Trainer) Logits(b Batch) (float32, []float32, error) {
	out := make([]float32, b.Rows*b.Len*t.shape.Vocab)
	loss, err := t.run(b, 1, false, 0, 0, out)
	return loss, out, err
}

// Backward runs the batch forward and backward and adds scale times the
// gradient of its mean loss to the accumulators. The loss returned is
// unscaled.
func (t *Trainer) Backward(b Batch, scale, dropout float32, seed uint64) (float32, error) {
	loss, err := t.run(b, scale, true, dropout, seed, nil)
	if scale != 0 {
		loss /= scale
	}
	return loss, err
}

// FastGrads is how many of the last Backward's products through the
// frozen base weights ran on the transposed copies (see fast_input_grads
// in train.c); zero in full fine-tuning, where the weights change.
func (t *Trainer) FastGrads() int {
	return t.count(func(c *C.tl_trainer) C.int32_t { return C.tl_train_fast_grads(c) })
}

// OutProds is how many of ggml's row-at-a-time outer products the last
// batch computed (see fast_outer_grads in train.c): none in a LoRA
// backward pass.
func (t *Trainer) OutProds() int {
	return t.count(func(c *C.tl_trainer) C.int32_t { return C.tl_train_out_prods(c) })
}

// count reads one of the last batch's counters; 0 once closed.
func (t *Trainer) count(read func(*C.tl_trainer) C.int32_t) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.c == nil {
		return 0
	}
	return int(read(t.c))
}

// AdamW is one optimiser step's settings.
type AdamW struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32
}

// Step applies AdamW with the accumulated gradients; iter counts steps
// from 1. It does not clear the gradients (ZeroGrad does).
func (t *Trainer) Step(o AdamW, iter int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.c != nil {
		C.tl_train_opt_step(t.c, C.float(o.LR), C.float(o.Beta1), C.float(o.Beta2), C.float(o.Eps), C.float(o.WeightDecay), C.int64_t(iter))
	}
}

// ZeroGrad clears the gradient accumulators.
func (t *Trainer) ZeroGrad() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.c != nil {
		C.tl_train_zero_grad(t.c)
	}
}

// ClipGrad scales the accumulated gradients down to an L2 norm of at most
// maxNorm (when maxNorm > 0) and returns the norm before clipping.
func (t *Trainer) ClipGrad(maxNorm float64) float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.c == nil {
		return 0
	}
	n := float64(C.tl_train_grad_norm(t.c))
	if maxNorm > 0 && n > maxNorm {
		C.tl_train_scale_grad(t.c, C.float(maxNorm/n))
	}
	return n
}

// Close frees the tensors.
func (t *Trainer) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.c != nil {
		C.tl_train_free(t.c)
		t.c = nil
	}
}
