package engine

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/gguf"
)

func TestEmbed(t *testing.T) {
	m := loadTiny(t, Options{ContextSize: 128})
	ctx := context.Background()
	embed := func(s string) []float32 {
		t.Helper()
		v, n, err := m.Embed(ctx, s)
		if err != nil {
			t.Fatal(err)
		}
		if n < 2 {
			t.Fatalf("%q read as %d tokens", s, n)
		}
		return v
	}
	a := embed("The market is full of carts.")
	cases := []struct {
		name string
		b    []float32
		same bool
	}{
		{"same text, same vector", embed("The market is full of carts."), true},
		{"other text, other vector", embed("A cat sleeps on the crates."), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.b) != 64 {
				t.Fatalf("%d dimensions, want 64", len(tc.b))
			}
			if norm := dot(tc.b, tc.b); math.Abs(norm-1) > 1e-4 {
				t.Errorf("squared norm %g, want 1", norm)
			}
			if same := dot(a, tc.b) > 1-1e-6; same != tc.same {
				t.Errorf("cosine %g, want same=%v", dot(a, tc.b), tc.same)
			}
		})
	}
	t.Run("text longer than the context", func(t *testing.T) {
		_, _, err := m.Embed(ctx, strings.Repeat("carts and baskets ", 100))
		if !errors.Is(err, ErrContextOverflow) {
			t.Fatalf("error %v, want ErrContextOverflow", err)
		}
	})
	t.Run("empty text", func(t *testing.T) {
		if _, _, err := m.Embed(ctx, " \n"); err == nil || !strings.Contains(err.Error(), "empty") {
			t.Fatalf("error %v, want one saying the text is empty", err)
		}
	})
}

func dot(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

func maxDiff(a, b []float32) float64 {
	var d float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func writeAdapter(t *testing.T, base string, cfg gguf.LoRAConfig) string {
	t.Helper()
	h, err := gguf.ReadHeader(base)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "adapter.gguf")
	if err := gguf.GenerateLoRA(path, h, cfg); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAdapters(t *testing.T) {
	base := newModelFile(t, gguf.Tiny())
	m := loadFile(t, base, Options{})
	ctx := context.Background()
	prompt, _ := m.Tokenize("The lamps come on one by one.", true, false)
	logits := func(uses ...AdapterUse) []float32 {
		t.Helper()
		l, err := m.Logits(ctx, prompt, uses)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	plain := logits()
	cfg := gguf.LoRAConfig{Seed: 3, Rank: 4, Alpha: 4, Targets: []string{"attn_q", "attn_v", "ffn_up"}, Std: 0.5}
	a, err := m.LoadAdapter(writeAdapter(t, base, cfg))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Seed = 4
	b, err := m.LoadAdapter(writeAdapter(t, base, cfg))
	if err != nil {
		t.Fatal(err)
	}
	withA := logits(AdapterUse{a, 1})
	cases := []struct {
		name    string
		got     []float32
		want    []float32
		changed bool
	}{
		{"adapter changes the logits", withA, plain, true},
		{"the same adapter gives the same logits", logits(AdapterUse{a, 1}), withA, false},
		{"scale zero is the base model", logits(AdapterUse{a, 0}), plain, false},
		{"half scale differs from full", logits(AdapterUse{a, 0.5}), withA, true},
		{"another adapter differs", logits(AdapterUse{b, 1}), withA, true},
		{"two adapters differ from one", logits(AdapterUse{a, 1}, AdapterUse{b, 1}), withA, true},
		{"without adapters the base again", logits(), plain, false},
	}
	if m.pool.nGen != 2 {
		// Parallel 1 keeps two contexts: the last two adapter sets used.
		t.Errorf("%d contexts kept after switching adapters, want 2", m.pool.nGen)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := maxDiff(tc.got, tc.want)
			if changed := d > 1e-3; changed != tc.changed {
				t.Errorf("largest logit difference %g, want changed=%v", d, tc.changed)
			}
		})
	}
	t.Run("generation with an adapter", func(t *testing.T) {
		opts := GenerateOptions{MaxTokens: 20}
		basic, _ := m.GenerateTokens(ctx, prompt, opts, nil)
		opts.Adapters = []AdapterUse{{a, 1}}
		adapted, err := m.GenerateTokens(ctx, prompt, opts, nil)
		if err != nil || adapted.Text == basic.Text {
			t.Errorf("adapted %q (%v), base %q: want different text", adapted.Text, err, basic.Text)
		}
	})
	t.Run("unloading", func(t *testing.T) {
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Logits(ctx, prompt, []AdapterUse{{a, 1}}); !errors.Is(err, ErrClosed) {
			t.Errorf("closed adapter used: %v, want ErrClosed", err)
		}
		if d := maxDiff(logits(), plain); d > 1e-3 {
			t.Errorf("base logits moved by %g after unloading", d)
		}
		if d := maxDiff(logits(AdapterUse{b, 1}), plain); d < 1e-3 {
			t.Error("the other adapter stopped working")
		}
		if err := a.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestAdapterRejects(t *testing.T) {
	base := newModelFile(t, gguf.Tiny())
	m := loadFile(t, base, Options{})
	wide := gguf.Tiny()
	wide.Embedding, wide.FeedForward = 96, 192
	otherShape := writeAdapter(t, newModelFile(t, wide), gguf.LoRAConfig{Rank: 2, Targets: []string{"attn_q"}, Std: 0.1})
	qwen := gguf.Tiny()
	qwen.Architecture = "qwen2"
	otherArch := writeAdapter(t, newModelFile(t, qwen), gguf.LoRAConfig{Rank: 2, Targets: []string{"attn_q"}, Std: 0.1})
	notGGUF := filepath.Join(t.TempDir(), "x.gguf")
	os.WriteFile(notGGUF, []byte("nope"), 0o644)
	cases := []struct {
		name, path, want string
	}{
		{"missing", filepath.Join(t.TempDir(), "none.gguf"), "does not exist"},
		{"not gguf", notGGUF, "not a GGUF file"},
		{"a model, not an adapter", base, `general.type is ""`},
		{"other architecture", otherArch, `made for a "qwen2" model`},
		{"other shape", otherShape, "incorrect shape"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, err := m.LoadAdapter(tc.path)
			if err == nil {
				a.Close()
				t.Fatal("loaded without error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to say %q", err, tc.want)
			}
		})
	}
}

func TestQuantize(t *testing.T) {
	in := newModelFile(t, gguf.Tiny())
	dir := t.TempDir()
	out := filepath.Join(dir, "tiny-q8.gguf")
	if err := Quantize(in, out, "q8_0", 1); err != nil {
		t.Fatal(err)
	}
	f32 := loadFile(t, in, Options{})
	q8 := loadFile(t, out, Options{})
	if q8.Info().FileType != "Q8_0" || q8.Info().SizeBytes*3 > f32.Info().SizeBytes {
		t.Errorf("quantized: type %s, %d bytes (F32: %d)", q8.Info().FileType, q8.Info().SizeBytes, f32.Info().SizeBytes)
	}
	ctx := context.Background()
	prompt, _ := f32.Tokenize("Every experiment starts with a plan.", true, false)
	lf, err1 := f32.Logits(ctx, prompt, nil)
	lq, err2 := q8.Logits(ctx, prompt, nil)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	// Q8_0 keeps about two decimal digits: the logits move a little and
	// stay strongly correlated.
	t.Logf("correlation %g maxdiff %g", correlation(lf, lq), maxDiff(lf, lq))
	if c := correlation(lf, lq); c < 0.99 || maxDiff(lf, lq) == 0 {
		t.Errorf("correlation %g, largest difference %g", c, maxDiff(lf, lq))
	}
	cases := []struct {
		name, in, out, typ, want string
	}{
		{"unknown type", in, filepath.Join(dir, "a.gguf"), "Q9_9", "unknown type"},
		{"missing input", filepath.Join(dir, "none.gguf"), filepath.Join(dir, "b.gguf"), "Q8_0", "does not exist"},
		{"output over input", in, in, "Q8_0", "different file"},
		{"missing output directory", in, filepath.Join(dir, "no", "c.gguf"), "Q8_0", "does not exist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Quantize(tc.in, tc.out, tc.typ, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
}

func correlation(a, b []float32) float64 {
	var ma, mb float64
	for i := range a {
		ma += float64(a[i])
		mb += float64(b[i])
	}
	ma /= float64(len(a))
	mb /= float64(len(b))
	var sab, saa, sbb float64
	for i := range a {
		x, y := float64(a[i])-ma, float64(b[i])-mb
		sab += x * y
		saa += x * x
		sbb += y * y
	}
	return sab / math.Sqrt(saa*sbb)
}

// TestGoEncodedQ8 checks package gguf's own Q8_0 encoding against ggml's
// decoder: the same random weights written as F32 and as Q8_0 by Go must
// give nearly the same logits in llama.cpp.
func TestGoEncodedQ8(t *testing.T) {
	q8cfg := gguf.Tiny()
	q8cfg.Name, q8cfg.WeightType = "tiny-go-q8", gguf.Q8_0
	f32 := loadTiny(t, Options{})
	q8 := loadFile(t, newModelFile(t, q8cfg), Options{})
	ctx := context.Background()
	prompt, _ := f32.Tokenize("The support team keeps a list of known problems.", true, false)
	lf, err1 := f32.Logits(ctx, prompt, nil)
	lq, err2 := q8.Logits(ctx, prompt, nil)
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	t.Logf("correlation %g maxdiff %g", correlation(lf, lq), maxDiff(lf, lq))
	if c := correlation(lf, lq); c < 0.99 || maxDiff(lf, lq) == 0 {
		t.Errorf("correlation %g, largest difference %g", c, maxDiff(lf, lq))
	}
}
