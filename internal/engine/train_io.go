package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/tunelab/tunelab/internal/gguf"
)

// SaveLoRA writes the adapter in llama.cpp's LoRA GGUF format, which the
// local engine, llama.cpp and Ollama's ADAPTER load on top of the base.
func (t *Trainer) SaveLoRA(path string) error {
	if t.opts.Rank == 0 {
		return fmt.Errorf("save adapter %s: the trainer has no adapter", path)
	}
	var ts []gguf.LoRATensor
	for _, name := range t.params {
		if !strings.HasSuffix(name, ".lora_a") {
			continue
		}
		target := strings.TrimSuffix(name, ".lora_a")
		a, err := t.Tensor(name)
		if err != nil {
			return err
		}
		b, err := t.Tensor(target + ".lora_b")
		if err != nil {
			return err
		}
		in := len(a) / t.opts.Rank
		ts = append(ts, gguf.LoRATensor{Target: target, In: in, Out: len(b) / t.opts.Rank, Rank: t.opts.Rank, A: a, B: b})
	}
	return gguf.WriteLoRA(path, "llama", t.opts.Alpha, ts)
}

// SaveModel writes the model as a GGUF file with base's metadata
// (tokenizer, chat template, hyperparameters) and the trainer's weights
// in the given type; an adapter, if any, is merged in: W + alpha/r·B·A.
// extra replaces or adds metadata keys.
func (t *Trainer) SaveModel(path string, base []gguf.KV, typ gguf.TensorType, extra ...gguf.KV) error {
	kv := make([]gguf.KV, 0, len(base)+len(extra)+1)
	override := map[string]bool{"general.alignment": true}
	for _, e := range extra {
		override[e.Key] = true
	}
	for _, e := range base {
		if !override[e.Key] {
			kv = append(kv, e)
		}
	}
	kv = append(kv, extra...)
	ftype := map[gguf.TensorType]uint32{gguf.F32: 0, gguf.F16: 1, gguf.Q8_0: 7}
	if ft, ok := ftype[typ]; ok {
		for i := range kv {
			if kv[i].Key == "general.file_type" {
				kv[i].Value = ft
			}
		}
	}
	var tensors []gguf.Tensor
	for i, name := range t.names {
		if isTrainState(name) {
			continue
		}
		v, err := t.Tensor(name)
		if err != nil {
			return err
		}
		if err := t.mergeLoRA(name, v); err != nil {
			return err
		}
		dims, tt := []uint64{uint64(t.sizes[i])}, gguf.F32
		if cols := t.cols(name); cols > 0 {
			dims = []uint64{uint64(cols), uint64(t.sizes[i] / cols)}
			tt = typ
		}
		data, err := gguf.Encode(tt, v)
		if err != nil {
			return fmt.Errorf("save model %s: tensor %s: %w", path, name, err)
		}
		tensors = append(tensors, gguf.Tensor{Name: name, Type: tt, Dims: dims, Data: data})
	}
	return gguf.WriteFile(path, &gguf.File{KV: kv, Tensors: tensors})
}

// isTrainState is true for the adapter and optimiser tensors, which are
// not part of a model file.
func isTrainState(name string) bool {
	return strings.Contains(name, ".lora_") || strings.HasSuffix(name, ".grad") ||
		strings.HasSuffix(name, ".adam_m") || strings.HasSuffix(name, ".adam_v")
}

// cols is a weight matrix's fastest dimension, or 0 for vectors.
func (t *Trainer) cols(name string) int {
	s := t.shape
	switch {
	case strings.HasSuffix(name, "_norm.weight"):
		return 0
	case strings.HasSuffix(name, "ffn_down.weight"):
		return s.FeedForward
	}
	return s.Embedding
}

// mergeLoRA adds alpha/r·B·A to the weight w (ggml dims [in, out]) when
// the weight has an adapter.
func (t *Trainer) mergeLoRA(name string, w []float32) error {
	if t.opts.Rank == 0 {
		return nil
	}
	if _, ok := t.index[name+".lora_a"]; !ok {
		return nil
	}
	a, err := t.Tensor(name + ".lora_a")
	if err != nil {
		return err
	}
	b, err := t.Tensor(name + ".lora_b")
	if err != nil {
		return err
	}
	r := t.opts.Rank
	in, out := len(a)/r, len(b)/r
	scale := t.opts.Alpha / float32(r)
	for o := range out {
		row := w[o*in : (o+1)*in]
		for k := range r {
			c := scale * b[o*r+k]
			if c == 0 {
				continue
			}
			ak := a[k*in : (k+1)*in]
			for i := range row {
				row[i] += c * ak[i]
			}
		}
	}
	return nil
}

// SaveCheckpoint writes every trainable tensor with its AdamW moments, plus
// the caller's metadata (step, schedule, data order), atomically: a killed
// job finds either the previous checkpoint or this one, whole.
func (t *Trainer) SaveCheckpoint(path string, meta []gguf.KV) error {
	var names []string
	for _, p := range t.params {
		names = append(names, p, p+".adam_m", p+".adam_v")
	}
	f := &gguf.File{KV: append([]gguf.KV{{Key: "general.type", Value: "tunelab-checkpoint"}}, meta...)}
	for _, name := range names {
		v, err := t.Tensor(name)
		if err != nil {
			return err
		}
		data, err := gguf.Encode(gguf.F32, v)
		if err != nil {
			return err
		}
		f.Tensors = append(f.Tensors, gguf.Tensor{Name: name, Type: gguf.F32, Dims: []uint64{uint64(len(v))}, Data: data})
	}
	if err := gguf.WriteFile(path, f); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// LoadCheckpoint restores what SaveCheckpoint wrote and returns its
// metadata. The trainer must have been built with the same shape and
// options; a checkpoint of another job is refused by name.
func (t *Trainer) LoadCheckpoint(path string) (*gguf.Header, error) {
	h, err := gguf.ReadHeader(path)
	if err != nil {
		return nil, fmt.Errorf("load checkpoint: %w", err)
	}
	if typ, _ := h.String("general.type"); typ != "tunelab-checkpoint" {
		return nil, fmt.Errorf("load checkpoint %s: not a tunelab checkpoint", path)
	}
	want := map[string]bool{}
	for _, p := range t.params {
		want[p], want[p+".adam_m"], want[p+".adam_v"] = true, true, true
	}
	var have []string
	for _, ti := range h.Tensors {
		have = append(have, ti.Name)
		if !want[ti.Name] {
			return nil, fmt.Errorf("load checkpoint %s: tensor %s does not belong to this job", path, ti.Name)
		}
	}
	if len(have) != len(want) {
		sort.Strings(have)
		return nil, fmt.Errorf("load checkpoint %s: %d tensors, want %d", path, len(have), len(want))
	}
	for _, name := range have {
		raw, err := h.ReadTensor(name)
		if err != nil {
			return nil, fmt.Errorf("load checkpoint: %w", err)
		}
		v, err := gguf.Decode(gguf.F32, raw)
		if err != nil {
			return nil, fmt.Errorf("load checkpoint %s: tensor %s: %w", path, name, err)
		}
		if err := t.SetTensor(name, v); err != nil {
			return nil, fmt.Errorf("load checkpoint %s: %w", path, err)
		}
	}
	return h, nil
}
