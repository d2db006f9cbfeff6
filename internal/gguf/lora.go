package gguf

import (
	"fmt"
	"sort"
	"strings"
)

// LoRATensor is the low-rank update of one base weight W (ggml dims
// [In, Out]): W' = W + scale * B·A, with A of dims [In, Rank] and B of dims
// [Rank, Out], both row-major in ggml order (A[r*In+i], B[o*Rank+r]).
type LoRATensor struct {
	Target  string // the base tensor's name, e.g. "blk.0.attn_q.weight"
	In, Out int
	Rank    int
	A, B    []float32
}

// WriteLoRA writes an adapter in llama.cpp's LoRA GGUF format, which
// llama.cpp, Ollama and tunelab's engine load on top of a base model of
// the same architecture. Alpha scales the update by alpha/rank.
func WriteLoRA(path, arch string, alpha float32, ts []LoRATensor) error {
	if len(ts) == 0 {
		return fmt.Errorf("write adapter %s: no tensors", path)
	}
	f := &File{KV: []KV{
		{"general.architecture", arch},
		{"general.type", "adapter"},
		{"adapter.type", "lora"},
		{"adapter.lora.alpha", alpha},
	}}
	for _, t := range ts {
		if t.Rank <= 0 || len(t.A) != t.In*t.Rank || len(t.B) != t.Rank*t.Out {
			return fmt.Errorf("write adapter %s: tensor %s: A has %d values and B %d, want %d and %d for rank %d", path, t.Target, len(t.A), len(t.B), t.In*t.Rank, t.Rank*t.Out, t.Rank)
		}
		base := strings.TrimSuffix(t.Target, ".weight") + ".weight"
		f.Tensors = append(f.Tensors,
			Tensor{Name: base + ".lora_a", Type: F32, Dims: []uint64{uint64(t.In), uint64(t.Rank)}, Data: mustEncode(F32, t.A)},
			Tensor{Name: base + ".lora_b", Type: F32, Dims: []uint64{uint64(t.Rank), uint64(t.Out)}, Data: mustEncode(F32, t.B)},
		)
	}
	return WriteFile(path, f)
}

// LoRAConfig describes a random adapter for tests and benchmarks.
type LoRAConfig struct {
	Seed  uint64
	Rank  int
	Alpha float32
	// Targets are the per-layer weights to adapt, e.g. "attn_q", "attn_v".
	Targets []string
	// Std is the spread of the random values; B is usually zero after
	// initialisation in training, but a random adapter must change outputs.
	Std float64
}

// GenerateLoRA writes a random adapter that fits the base model described
// by base (read with ReadHeader): one A/B pair per target in every layer.
func GenerateLoRA(path string, base *Header, cfg LoRAConfig) error {
	if cfg.Rank <= 0 || len(cfg.Targets) == 0 {
		return fmt.Errorf("generate adapter %s: want a positive rank and at least one target", path)
	}
	var names []string
	for _, t := range base.Tensors {
		for _, target := range cfg.Targets {
			if strings.HasPrefix(t.Name, "blk.") && strings.HasSuffix(t.Name, "."+target+".weight") {
				names = append(names, t.Name)
			}
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("generate adapter %s: base model %s has no tensors named blk.N.{%s}.weight", path, base.Path, strings.Join(cfg.Targets, ","))
	}
	sort.Strings(names)
	var ts []LoRATensor
	for i, name := range names {
		t, _ := base.Tensor(name)
		if len(t.Dims) != 2 {
			return fmt.Errorf("generate adapter %s: base tensor %s has %d dimensions, want 2", path, name, len(t.Dims))
		}
		in, out := int(t.Dims[0]), int(t.Dims[1])
		ts = append(ts, LoRATensor{
			Target: name, In: in, Out: out, Rank: cfg.Rank,
			A: randomNormal(in*cfg.Rank, cfg.Seed, uint64(2*i+1), cfg.Std),
			B: randomNormal(cfg.Rank*out, cfg.Seed, uint64(2*i+2), cfg.Std),
		})
	}
	return WriteLoRA(path, base.Architecture(), cfg.Alpha, ts)
}
