package export

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/gguf"
)

// stEntry is one tensor for writeSafetensors: values in row-major order,
// stored as dtype.
type stEntry struct {
	dtype  string
	shape  []int
	values []float32
}

// writeSafetensors writes the format by hand (header length, JSON
// header, data) so the reader is tested against the layout, not itself.
func writeSafetensors(t *testing.T, path string, ts map[string]stEntry, corrupt func([]byte) []byte) {
	t.Helper()
	names := make([]string, 0, len(ts))
	for n := range ts {
		names = append(names, n)
	}
	sort.Strings(names)
	header := map[string]any{"__metadata__": map[string]string{"format": "pt"}}
	var data []byte
	for _, n := range names {
		e := ts[n]
		begin := len(data)
		for _, v := range e.values {
			switch e.dtype {
			case "F32":
				data = binary.LittleEndian.AppendUint32(data, math.Float32bits(v))
			case "F16":
				data = binary.LittleEndian.AppendUint16(data, gguf.Float16(v))
			case "BF16":
				data = binary.LittleEndian.AppendUint16(data, uint16(math.Float32bits(v)>>16))
			case "I8":
				data = append(data, byte(int8(v)))
			}
		}
		header[n] = map[string]any{"dtype": e.dtype, "shape": e.shape, "data_offsets": []int{begin, len(data)}}
	}
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(h)))
	out = append(append(out, h...), data...)
	if corrupt != nil {
		out = corrupt(out)
	}
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
}

func seq(n int, from float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = from + float32(i)
	}
	return out
}

const prefix = "base_model.model.model.layers."

// adapter is a small llama-shaped adapter: hidden 4, two query heads of
// size 4 (q out 8), one key/value head (k, v out 4), rank 2.
func adapter() map[string]stEntry {
	return map[string]stEntry{
		prefix + "0.self_attn.q_proj.lora_A.weight": {"F32", []int{2, 4}, seq(8, 0)},
		prefix + "0.self_attn.q_proj.lora_B.weight": {"F32", []int{8, 2}, seq(16, 0)},
		prefix + "0.self_attn.k_proj.lora_A.weight": {"F16", []int{2, 4}, []float32{0.5, -2, 1.5, 0, 1, 2, 3, 4}},
		prefix + "0.self_attn.k_proj.lora_B.weight": {"BF16", []int{4, 2}, seq(8, 100)},
		prefix + "0.self_attn.v_proj.lora_A.weight": {"F32", []int{2, 4}, seq(8, 10)},
		prefix + "0.self_attn.v_proj.lora_B.weight": {"F32", []int{4, 2}, seq(8, 20)},
		prefix + "1.mlp.down_proj.lora_A.weight":    {"F32", []int{2, 6}, seq(12, 0)},
		prefix + "1.mlp.down_proj.lora_B.weight":    {"F32", []int{4, 2}, seq(8, 0)},
		prefix + "1.mlp.gate_proj.lora_A.weight":    {"F32", []int{2, 4}, seq(8, 0)},
		prefix + "1.mlp.gate_proj.lora_B.weight":    {"F32", []int{6, 2}, seq(12, 0)},
	}
}

const config = `{"peft_type": "LORA", "r": 2, "lora_alpha": 8, "use_rslora": false, "use_dora": false,
 "fan_in_fan_out": false, "rank_pattern": {}, "alpha_pattern": {}, "bias": "none",
 "target_modules": ["q_proj", "k_proj", "v_proj", "gate_proj", "down_proj"]}`

func writeAdapter(t *testing.T, cfg string, ts map[string]stEntry, corrupt func([]byte) []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "adapter_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	writeSafetensors(t, filepath.Join(dir, "adapter_model.safetensors"), ts, corrupt)
	return dir
}

// rows picks rows of a [n, 2] matrix of seq values starting at from.
func rows(from float32, idx ...int) []float32 {
	var out []float32
	for _, i := range idx {
		out = append(out, from+float32(2*i), from+float32(2*i+1))
	}
	return out
}

func TestImportPEFT(t *testing.T) {
	// By hand: llama.cpp views q's 8 rows as (2 heads, 2 halves, 2) and
	// swaps the last two axes, so head 0 rows 0,1,2,3 become 0,2,1,3 and
	// head 1 rows 4,5,6,7 become 4,6,5,7; k has one head of 4 rows.
	llamaQ := rows(0, 0, 2, 1, 3, 4, 6, 5, 7)
	llamaK := rows(100, 0, 2, 1, 3)
	hfQ := rows(0, 0, 1, 2, 3, 4, 5, 6, 7)
	hfK := rows(100, 0, 1, 2, 3)
	cases := []struct {
		name      string
		arch      string
		cfg       string
		wantQ     []float32
		wantK     []float32
		wantAlpha float32
	}{
		{"llama permutes q and k", "llama", config, llamaQ, llamaK, 8},
		{"qwen2 keeps the order", "qwen2", config, hfQ, hfK, 8},
		{"rslora scales alpha", "qwen2", strings.Replace(config, `"use_rslora": false`, `"use_rslora": true`, 1), hfQ, hfK, 8 * float32(math.Sqrt2)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeAdapter(t, tc.cfg, adapter(), nil)
			ts, alpha, err := ImportPEFT(dir, tc.arch, 2, 1)
			if err != nil {
				t.Fatal(err)
			}
			if alpha != tc.wantAlpha {
				t.Errorf("alpha %g, want %g", alpha, tc.wantAlpha)
			}
			var names []string
			for _, x := range ts {
				names = append(names, x.Target)
			}
			wantNames := []string{"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.1.ffn_gate.weight", "blk.1.ffn_down.weight"}
			if !reflect.DeepEqual(names, wantNames) {
				t.Fatalf("targets %v, want %v", names, wantNames)
			}
			want := []gguf.LoRATensor{
				{Target: wantNames[0], In: 4, Out: 8, Rank: 2, A: seq(8, 0), B: tc.wantQ},
				{Target: wantNames[1], In: 4, Out: 4, Rank: 2, A: []float32{0.5, -2, 1.5, 0, 1, 2, 3, 4}, B: tc.wantK},
				{Target: wantNames[2], In: 4, Out: 4, Rank: 2, A: seq(8, 10), B: seq(8, 20)},
				{Target: wantNames[3], In: 4, Out: 6, Rank: 2, A: seq(8, 0), B: seq(12, 0)},
				{Target: wantNames[4], In: 6, Out: 4, Rank: 2, A: seq(12, 0), B: seq(8, 0)},
			}
			for i := range want {
				if !reflect.DeepEqual(ts[i], want[i]) {
					t.Errorf("tensor %d:\n got %+v\nwant %+v", i, ts[i], want[i])
				}
			}
		})
	}
}

func TestImportPEFTErrors(t *testing.T) {
	with := func(name string, e stEntry) map[string]stEntry {
		ts := adapter()
		ts[name] = e
		return ts
	}
	without := func(name string) map[string]stEntry {
		ts := adapter()
		delete(ts, name)
		return ts
	}
	cases := []struct {
		name    string
		arch    string
		heads   int
		cfg     string
		ts      map[string]stEntry
		corrupt func([]byte) []byte
		want    []string
	}{
		{name: "unknown architecture", arch: "phi3", want: []string{`architecture "phi3" is not supported`, "llama"}},
		{name: "llama without head counts", arch: "llama", heads: -1, want: []string{"needs the base model's head counts"}},
		{name: "head count that does not divide", arch: "llama", heads: 3, want: []string{"q_proj.lora_B.weight", "8 rows do not split into 3 heads"}},
		{name: "dora", cfg: strings.Replace(config, `"use_dora": false`, `"use_dora": true`, 1), want: []string{"adapter_config.json", "use_dora"}},
		{name: "rank pattern", cfg: strings.Replace(config, `"rank_pattern": {}`, `"rank_pattern": {"q_proj": 4}`, 1), want: []string{"rank_pattern"}},
		{name: "not lora", cfg: `{"peft_type": "IA3", "r": 2, "lora_alpha": 8}`, want: []string{`peft_type is "IA3"`}},
		{name: "config not json", cfg: `{"r": 2,`, want: []string{"adapter_config.json: not valid JSON"}},
		{name: "rank differs from config", cfg: strings.Replace(config, `"r": 2`, `"r": 4`, 1), want: []string{"q_proj.lora_A.weight has rank 2", "r = 4"}},
		{name: "saved module", ts: with("base_model.model.lm_head.weight", stEntry{"F32", []int{1, 1}, []float32{1}}),
			want: []string{"adapter_model.safetensors", "tensor base_model.model.lm_head.weight is not a LoRA A/B weight"}},
		{name: "lora bias", ts: with(prefix+"0.self_attn.q_proj.lora_B.bias", stEntry{"F32", []int{8}, seq(8, 0)}),
			want: []string{"q_proj.lora_B.bias is not a LoRA A/B weight"}},
		{name: "missing B", ts: without(prefix + "0.self_attn.v_proj.lora_B.weight"), want: []string{"v_proj.lora_A.weight has no matching lora_B"}},
		{name: "B of the wrong rank", ts: with(prefix+"0.self_attn.v_proj.lora_B.weight", stEntry{"F32", []int{2, 4}, seq(8, 0)}),
			want: []string{"v_proj.lora_B.weight has shape [2 4] but", "has rank 2"}},
		{name: "quantised dtype", ts: with(prefix+"0.self_attn.v_proj.lora_B.weight", stEntry{"I8", []int{4, 2}, seq(8, 0)}),
			want: []string{"v_proj.lora_B.weight has dtype I8", "F32, F16 or BF16"}},
		{name: "truncated data", corrupt: func(b []byte) []byte { return b[:len(b)-4] }, want: []string{"do not hold", "values in a"}},
		{name: "header length too large", corrupt: func(b []byte) []byte { binary.LittleEndian.PutUint64(b, 1<<40); return b },
			want: []string{"not a safetensors file: header length 1099511627776"}},
		{name: "empty file", corrupt: func([]byte) []byte { return nil }, want: []string{"not a safetensors file: no header length"}},
		{name: "no tensors", ts: map[string]stEntry{}, want: []string{"holds no tensors"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, ts, arch, heads := tc.cfg, tc.ts, tc.arch, tc.heads
			if cfg == "" {
				cfg = config
			}
			if ts == nil {
				ts = adapter()
			}
			if arch == "" {
				arch = "llama"
			}
			if heads == 0 {
				heads = 2
			}
			kv := 1
			if heads < 0 {
				heads, kv = 0, 0
			}
			dir := writeAdapter(t, cfg, ts, tc.corrupt)
			_, _, err := ImportPEFT(dir, arch, heads, kv)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestConvertPEFT writes the GGUF adapter and reads it back.
func TestConvertPEFT(t *testing.T) {
	dir := writeAdapter(t, config, adapter(), nil)
	out := filepath.Join(t.TempDir(), "adapter.gguf")
	if err := ConvertPEFT(dir, out, "llama", 2, 1); err != nil {
		t.Fatal(err)
	}
	h, err := gguf.ReadHeader(out)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := h.Float("adapter.lora.alpha"); a != 8 || h.Architecture() != "llama" {
		t.Errorf("alpha %g arch %q, want 8 and llama", a, h.Architecture())
	}
	cases := []struct {
		name string
		dims []uint64
	}{
		{"blk.0.attn_q.weight.lora_a", []uint64{4, 2}},
		{"blk.0.attn_q.weight.lora_b", []uint64{2, 8}},
		{"blk.1.ffn_down.weight.lora_a", []uint64{6, 2}},
		{"blk.1.ffn_down.weight.lora_b", []uint64{2, 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ti, ok := h.Tensor(tc.name)
			if !ok || !reflect.DeepEqual(ti.Dims, tc.dims) {
				t.Fatalf("tensor %s: %+v (found %v), want dims %v", tc.name, ti, ok, tc.dims)
			}
		})
	}
	b, err := h.ReadTensor("blk.0.attn_q.weight.lora_b")
	if err != nil {
		t.Fatal(err)
	}
	vals, err := gguf.Decode(gguf.F32, b)
	if err != nil {
		t.Fatal(err)
	}
	if want := rows(0, 0, 2, 1, 3, 4, 6, 5, 7); !reflect.DeepEqual(vals, want) {
		t.Errorf("q lora_b in the GGUF %v, want the permuted %v", vals, want)
	}
}
