package gguf

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// ChatMLTemplate is the chat template the generated models carry: the
// widely used ChatML layout, which llama.cpp recognises by its markers.
const ChatMLTemplate = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"

// TinyConfig is the shape of a generated llama-architecture model.
type TinyConfig struct {
	Name          string
	Seed          uint64
	VocabSize     int
	Embedding     int // hidden size; a multiple of 32 so every matrix can be Q8_0
	Layers        int
	Heads         int
	KVHeads       int // fewer than Heads gives grouped-query attention
	FeedForward   int
	ContextLength int
	// WeightType is the type of the 2-D weight matrices (F32, F16 or Q8_0);
	// norms stay F32 as llama.cpp expects.
	WeightType TensorType
	// TiedEmbeddings leaves out output.weight, so the output layer reuses
	// the token embeddings (as SmolLM and many small models do).
	TiedEmbeddings bool
	// ChatTemplate replaces the ChatML template; NoChatTemplate leaves the
	// template out, for testing the fallback used with base models.
	ChatTemplate   string
	NoChatTemplate bool
	// Architecture overrides general.architecture; tests use it to make a
	// file the engine must refuse. Empty means "llama".
	Architecture string
}

// Tiny is the test model: two layers, 64 wide, a 640-token vocabulary
// (about what the bundled corpus yields before padding). It loads and runs
// in milliseconds.
func Tiny() TinyConfig {
	return TinyConfig{
		Name: "tunelab-tiny", Seed: 1, VocabSize: 640, Embedding: 64, Layers: 2,
		Heads: 4, KVHeads: 2, FeedForward: 128, ContextLength: 512, WeightType: F32,
	}
}

// Bench135M has the shape of SmolLM-135M (30 layers, 576 wide, 9 heads of
// which 3 for keys and values, 49,152 tokens, tied embeddings), so timings
// on it say something about a real small model.
func Bench135M() TinyConfig {
	return TinyConfig{
		Name: "tunelab-bench-135m", Seed: 7, VocabSize: 49152, Embedding: 576, Layers: 30,
		Heads: 9, KVHeads: 3, FeedForward: 1536, ContextLength: 2048, WeightType: F16,
		TiedEmbeddings: true,
	}
}

func (c TinyConfig) validate() error {
	switch {
	case c.VocabSize <= 0 || c.Embedding <= 0 || c.Layers <= 0 || c.Heads <= 0 || c.KVHeads <= 0 || c.FeedForward <= 0 || c.ContextLength <= 0:
		return fmt.Errorf("model shape %+v: every size must be positive", c)
	case c.Embedding%c.Heads != 0:
		return fmt.Errorf("embedding size %d is not a multiple of the head count %d", c.Embedding, c.Heads)
	case c.Heads%c.KVHeads != 0:
		return fmt.Errorf("head count %d is not a multiple of the key/value head count %d", c.Heads, c.KVHeads)
	case c.WeightType != F32 && c.WeightType != F16 && c.WeightType != Q8_0:
		return fmt.Errorf("weight type %s: want F32, F16 or Q8_0", c.WeightType)
	case c.WeightType == Q8_0 && (c.Embedding%32 != 0 || c.FeedForward%32 != 0):
		return fmt.Errorf("Q8_0 weights need embedding and feed-forward sizes that are multiples of 32")
	}
	return nil
}

// GenerateLlama writes a llama-architecture model with seeded random
// weights and a vocabulary learned from the bundled corpus to path. The
// same config always produces the same file.
func GenerateLlama(path string, cfg TinyConfig) error {
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("generate %s: %w", path, err)
	}
	vocab, err := TrainVocab(corpus, cfg.VocabSize, []string{"<|im_start|>", "<|im_end|>"})
	if err != nil {
		return fmt.Errorf("generate %s: %w", path, err)
	}
	kv := LlamaKV(cfg, vocab)
	arch := cfg.Architecture
	if arch == "" {
		arch = "llama"
	}
	headDim := cfg.Embedding / cfg.Heads
	kvDim := headDim * cfg.KVHeads

	// Each tensor draws from its own stream (seed, index), so a tensor's
	// values do not depend on the order they are written in.
	var tensors []Tensor
	stream := uint64(0)
	matrix := func(name string, in, out int, std float64) {
		stream++
		tensors = append(tensors, lazyTensor(name, cfg.WeightType, in, out, cfg.Seed, stream, std))
	}
	norm := func(name string, n int) {
		tensors = append(tensors, Tensor{Name: name, Type: F32, Dims: []uint64{uint64(n)}, Data: mustEncode(F32, ones(n))})
	}
	e, ff := cfg.Embedding, cfg.FeedForward
	matrix("token_embd.weight", e, cfg.VocabSize, 1)
	norm("output_norm.weight", e)
	if !cfg.TiedEmbeddings {
		matrix("output.weight", e, cfg.VocabSize, 2/math.Sqrt(float64(e)))
	}
	for l := range cfg.Layers {
		p := fmt.Sprintf("blk.%d.", l)
		norm(p+"attn_norm.weight", e)
		matrix(p+"attn_q.weight", e, e, 1/math.Sqrt(float64(e)))
		matrix(p+"attn_k.weight", e, kvDim, 1/math.Sqrt(float64(e)))
		matrix(p+"attn_v.weight", e, kvDim, 1/math.Sqrt(float64(e)))
		matrix(p+"attn_output.weight", e, e, 1/math.Sqrt(float64(e)))
		norm(p+"ffn_norm.weight", e)
		matrix(p+"ffn_gate.weight", e, ff, 1/math.Sqrt(float64(e)))
		matrix(p+"ffn_up.weight", e, ff, 1/math.Sqrt(float64(e)))
		matrix(p+"ffn_down.weight", ff, e, 1/math.Sqrt(float64(ff)))
	}
	if err := WriteFile(path, &File{KV: kv, Tensors: tensors}); err != nil {
		return fmt.Errorf("generate model: %w", err)
	}
	return nil
}

// LlamaKV is the metadata of a Llama-architecture model of cfg's shape
// with the given vocabulary: hyperparameters, tokenizer and chat template.
func LlamaKV(cfg TinyConfig, vocab *Vocab) []KV {
	arch := cfg.Architecture
	if arch == "" {
		arch = "llama"
	}
	headDim := cfg.Embedding / cfg.Heads
	ftype := map[TensorType]uint32{F32: 0, F16: 1, Q8_0: 7}[cfg.WeightType]
	kv := []KV{
		{"general.architecture", arch},
		{"general.name", cfg.Name},
		{"general.file_type", ftype},
		{arch + ".context_length", uint32(cfg.ContextLength)},
		{arch + ".embedding_length", uint32(cfg.Embedding)},
		{arch + ".block_count", uint32(cfg.Layers)},
		{arch + ".feed_forward_length", uint32(cfg.FeedForward)},
		{arch + ".attention.head_count", uint32(cfg.Heads)},
		{arch + ".attention.head_count_kv", uint32(cfg.KVHeads)},
		{arch + ".attention.layer_norm_rms_epsilon", float32(1e-5)},
		{arch + ".rope.dimension_count", uint32(headDim)},
		{arch + ".rope.freq_base", float32(10000)},
		{arch + ".vocab_size", uint32(cfg.VocabSize)},
	}
	kv = append(kv, vocab.KV()...)
	kv = append(kv, KV{"tokenizer.ggml.eot_token_id", vocab.Specials["<|im_end|>"]})
	if !cfg.NoChatTemplate {
		tmpl := cfg.ChatTemplate
		if tmpl == "" {
			tmpl = ChatMLTemplate
		}
		kv = append(kv, KV{"tokenizer.chat_template", tmpl})
	}

	return kv
}

// lazyTensor is an in x out matrix (ggml dims [in, out]) of normal values
// with the given standard deviation, produced only when it is written.
func lazyTensor(name string, t TensorType, in, out int, seed, stream uint64, std float64) Tensor {
	return Tensor{
		Name: name, Type: t, Dims: []uint64{uint64(in), uint64(out)},
		Lazy: func() ([]byte, error) {
			return Encode(t, randomNormal(in*out, seed, stream, std))
		},
	}
}

func randomNormal(n int, seed, stream uint64, std float64) []float32 {
	rng := rand.New(rand.NewPCG(seed, stream))
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64() * std)
	}
	return v
}

func ones(n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 1
	}
	return v
}

// mustEncode is for F32 data, whose encoding cannot fail.
func mustEncode(t TensorType, v []float32) []byte {
	b, err := Encode(t, v)
	if err != nil {
		panic(err)
	}
	return b
}
