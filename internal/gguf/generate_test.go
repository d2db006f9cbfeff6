package gguf

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/testutil/golden"
)

func TestTrainVocab(t *testing.T) {
	v, err := TrainVocab(Corpus(), 640, []string{"<|im_start|>", "<|im_end|>"})
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Tokens) != 640 || len(v.Scores) != 640 || len(v.Types) != 640 {
		t.Fatalf("%d tokens, %d scores, %d types; want 640 each", len(v.Tokens), len(v.Scores), len(v.Types))
	}
	seen := map[string]bool{}
	for i, tok := range v.Tokens {
		if seen[tok] {
			t.Fatalf("token %d %q appears twice (llama.cpp aborts on that)", i, tok)
		}
		seen[tok] = true
	}
	checks := []struct {
		name string
		id   int
		tok  string
		typ  int32
	}{
		{"unknown", 0, "<unk>", TokenUnknown},
		{"bos", 1, "<s>", TokenControl},
		{"eos", 2, "</s>", TokenControl},
		{"chat start", 3, "<|im_start|>", TokenControl},
		{"chat end", 4, "<|im_end|>", TokenControl},
		{"first byte", 5, "<0x00>", TokenByte},
		{"newline byte", 5 + 10, "<0x0A>", TokenByte},
		{"last byte", 5 + 255, "<0xFF>", TokenByte},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if v.Tokens[c.id] != c.tok || v.Types[c.id] != c.typ {
				t.Fatalf("token %d = %q type %d, want %q type %d", c.id, v.Tokens[c.id], v.Types[c.id], c.tok, c.typ)
			}
		})
	}
	// Frequent words of the corpus must have become whole pieces.
	for _, w := range []string{"▁the", "▁and", "▁model"} {
		if !seen[w] {
			t.Errorf("piece %q was not learned", w)
		}
	}
	if v.Merges < 300 {
		t.Errorf("only %d merges learned", v.Merges)
	}
	if last := v.Tokens[len(v.Tokens)-1]; strings.HasPrefix(last, "<unused") {
		t.Errorf("the tiny vocabulary was padded (last token %q): the corpus no longer fills it", last)
	}
	again, _ := TrainVocab(Corpus(), 640, []string{"<|im_start|>", "<|im_end|>"})
	if strings.Join(again.Tokens, "\x00") != strings.Join(v.Tokens, "\x00") {
		t.Error("training twice gave different vocabularies")
	}
	if _, err := TrainVocab(Corpus(), 100, nil); err == nil {
		t.Error("a vocabulary too small for the byte tokens was accepted")
	}
}

// TestGenerateLlama checks the generated model against a golden summary of
// its header and the hash of its bytes, so any change to what is generated
// shows up in review.
func TestGenerateLlama(t *testing.T) {
	cases := []struct {
		name string
		cfg  func() TinyConfig
	}{
		{"tiny", Tiny},
		{"tiny-q8", func() TinyConfig {
			c := Tiny()
			c.WeightType = Q8_0
			c.TiedEmbeddings = true
			c.NoChatTemplate = true
			return c
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a, b := filepath.Join(dir, "a.gguf"), filepath.Join(dir, "b.gguf")
			for _, p := range []string{a, b} {
				if err := GenerateLlama(p, tc.cfg()); err != nil {
					t.Fatal(err)
				}
			}
			da, _ := os.ReadFile(a)
			db, _ := os.ReadFile(b)
			if !bytes.Equal(da, db) {
				t.Fatal("the same config generated two different files")
			}
			h, err := ReadHeader(a)
			if err != nil {
				t.Fatal(err)
			}
			got := summarize(h, da)
			golden.Check(t, filepath.Join("testdata", tc.name+".golden"), got)
		})
	}
}

func summarize(h *Header, data []byte) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "sha256 %x\n", sha256.Sum256(data))
	for _, kv := range h.KV {
		switch v := kv.Value.(type) {
		case []string:
			fmt.Fprintf(&sb, "%s: %d strings, first %q, last %q\n", kv.Key, len(v), v[:8], v[len(v)-1])
		case []float32:
			fmt.Fprintf(&sb, "%s: %d floats\n", kv.Key, len(v))
		case []int32:
			fmt.Fprintf(&sb, "%s: %d ints\n", kv.Key, len(v))
		case string:
			if len(v) > 40 {
				v = v[:40] + "..."
			}
			fmt.Fprintf(&sb, "%s: %q\n", kv.Key, v)
		default:
			fmt.Fprintf(&sb, "%s: %v (%T)\n", kv.Key, v, v)
		}
	}
	for _, t := range h.Tensors {
		fmt.Fprintf(&sb, "tensor %s %s %v\n", t.Name, t.Type, t.Dims)
	}
	return sb.String()
}

func TestGenerateRejectsBadShapes(t *testing.T) {
	cases := []struct {
		name   string
		change func(*TinyConfig)
		want   string
	}{
		{"heads do not divide width", func(c *TinyConfig) { c.Heads = 5 }, "not a multiple of the head count"},
		{"kv heads do not divide heads", func(c *TinyConfig) { c.KVHeads = 3 }, "key/value head count"},
		{"q8 with odd width", func(c *TinyConfig) { c.WeightType = Q8_0; c.FeedForward = 100 }, "multiples of 32"},
		{"unsupported weight type", func(c *TinyConfig) { c.WeightType = Q4_K }, "want F32, F16 or Q8_0"},
		{"zero layers", func(c *TinyConfig) { c.Layers = 0 }, "must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Tiny()
			tc.change(&c)
			err := GenerateLlama(filepath.Join(t.TempDir(), "m.gguf"), c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestGenerateLoRA(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.gguf")
	if err := GenerateLlama(base, Tiny()); err != nil {
		t.Fatal(err)
	}
	h, err := ReadHeader(base)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "lora.gguf")
	if err := GenerateLoRA(path, h, LoRAConfig{Seed: 1, Rank: 4, Alpha: 8, Targets: []string{"attn_q", "attn_v"}, Std: 0.1}); err != nil {
		t.Fatal(err)
	}
	a, err := ReadHeader(path)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{"general.type": "adapter", "adapter.type": "lora", "general.architecture": "llama"} {
		if got, _ := a.String(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if alpha, _ := a.Float("adapter.lora.alpha"); alpha != 8 {
		t.Errorf("alpha %g, want 8", alpha)
	}
	// Two layers, two targets, an A and a B each.
	if len(a.Tensors) != 8 {
		t.Fatalf("%d tensors, want 8", len(a.Tensors))
	}
	qa, ok1 := a.Tensor("blk.0.attn_q.weight.lora_a")
	vb, ok2 := a.Tensor("blk.1.attn_v.weight.lora_b")
	if !ok1 || !ok2 || fmt.Sprint(qa.Dims) != "[64 4]" || fmt.Sprint(vb.Dims) != "[4 32]" {
		t.Errorf("lora_a %v %v, lora_b %v %v; want [64 4] and [4 32]", ok1, qa.Dims, ok2, vb.Dims)
	}
	if err := GenerateLoRA(path, h, LoRAConfig{Rank: 4, Targets: []string{"nothing"}}); err == nil {
		t.Error("an adapter with no matching targets was written")
	}
}
