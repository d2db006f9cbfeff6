package engine

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/gguf"
)

// newModelFile generates a model in a temporary directory.
func newModelFile(t testing.TB, cfg gguf.TinyConfig) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), cfg.Name+".gguf")
	if err := gguf.GenerateLlama(path, cfg); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadTiny loads a fresh tiny model, closed when the test ends.
func loadTiny(t testing.TB, opts Options) *Model {
	t.Helper()
	return loadFile(t, newModelFile(t, gguf.Tiny()), opts)
}

func loadFile(t testing.TB, path string, opts Options) *Model {
	t.Helper()
	if opts.Threads == 0 {
		// One thread: the same on every machine, and ggml's spinning
		// thread pool slows badly when other test binaries share the CPU.
		opts.Threads = 1
	}
	m, err := Load(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func TestLoadRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := newModelFile(t, gguf.Tiny())
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	withArch := func(arch string) string {
		c := gguf.Tiny()
		c.Architecture = arch
		return newModelFile(t, c)
	}
	h, err := gguf.ReadHeader(good)
	if err != nil {
		t.Fatal(err)
	}
	adapter := filepath.Join(dir, "adapter.gguf")
	if err := gguf.GenerateLoRA(adapter, h, gguf.LoRAConfig{Seed: 1, Rank: 2, Alpha: 2, Targets: []string{"attn_q"}, Std: 0.1}); err != nil {
		t.Fatal(err)
	}
	vocabFile := func(name string, tokens []string, scores []float32) string {
		p := filepath.Join(dir, name)
		f := &gguf.File{KV: []gguf.KV{
			{Key: "general.architecture", Value: "llama"},
			{Key: "tokenizer.ggml.model", Value: "llama"},
			{Key: "tokenizer.ggml.tokens", Value: tokens},
			{Key: "tokenizer.ggml.scores", Value: scores},
		}}
		if err := gguf.WriteFile(p, f); err != nil {
			t.Fatal(err)
		}
		return p
	}

	cases := []struct {
		name    string
		path    string
		is      error
		message string
	}{
		{"missing file", filepath.Join(dir, "absent.gguf"), nil, "does not exist"},
		{"directory", dir, nil, "is a directory"},
		{"empty file", write("empty.gguf", nil), gguf.ErrNotGGUF, "not a GGUF file"},
		{"text file", write("notes.gguf", []byte("these are my notes, not a model")), gguf.ErrNotGGUF, "convert it to GGUF"},
		{"safetensors file", write("model.safetensors", append([]byte{8, 0, 0, 0, 0, 0, 0, 0}, []byte("{}      ")...)), gguf.ErrNotGGUF, "not a GGUF file"},
		{"truncated header", write("cut-header.gguf", data[:200]), gguf.ErrTruncated, "cut short"},
		{"truncated weights", write("cut-weights.gguf", data[:len(data)-100]), gguf.ErrTruncated, "cut short"},
		{"encoder architecture", withArch("bert"), ErrUnsupported, `architecture "bert"`},
		{"unknown architecture", withArch("made-up-arch"), ErrUnsupported, `architecture "made-up-arch"`},
		{"adapter instead of model", adapter, ErrUnsupported, "LoRA adapter, not a model"},
		{"duplicate tokens", vocabFile("dup.gguf", []string{"a", "b", "a"}, []float32{0, 0, 0}), gguf.ErrInvalid, `"a" twice`},
		{"llama.cpp refuses it", vocabFile("no-weights.gguf", []string{"a", "b"}, []float32{0, 0}), nil, "llama.cpp could not load it: "},
		{"scores too short", vocabFile("scores.gguf", []string{"a", "b"}, []float32{0}), gguf.ErrInvalid, "tokenizer.ggml.scores"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(tc.path, Options{})
			if err == nil {
				m.Close()
				t.Fatal("loaded without error")
			}
			t.Log(err)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.message) || !strings.Contains(err.Error(), tc.path) {
				t.Errorf("error %q should name %s and say %q", err, tc.path, tc.message)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	tiny := gguf.Tiny()
	q8 := gguf.Tiny()
	q8.Name, q8.WeightType, q8.TiedEmbeddings = "tiny-q8", gguf.Q8_0, true
	// Parameters of the generated shape, counted by hand: embeddings,
	// output norm, optional output matrix, and per layer two norms, the
	// attention matrices (keys and values are half width) and the MLP.
	e, v, ff, kv := 64, 640, 128, 32
	perLayer := 2*e + e*e*2 + 2*e*kv + 3*e*ff
	cases := []struct {
		name     string
		cfg      gguf.TinyConfig
		params   uint64
		fileType string
		template bool
	}{
		{"f32 with template", tiny, uint64(2*v*e + e + 2*perLayer), "F32", true},
		{"q8_0 tied", q8, uint64(v*e + e + 2*perLayer), "Q8_0", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := loadFile(t, newModelFile(t, tc.cfg), Options{})
			info := m.Info()
			want := Info{Architecture: "llama", Name: tc.cfg.Name, ContextLength: 512, VocabSize: 640, EmbeddingSize: 64, Layers: 2, Heads: 4, Params: tc.params, FileType: tc.fileType}
			got := info
			got.Path, got.Description, got.SizeBytes, got.ChatTemplate = "", "", 0, ""
			if got != want {
				t.Errorf("info %+v\nwant %+v", got, want)
			}
			if (info.ChatTemplate == gguf.ChatMLTemplate) != tc.template {
				t.Errorf("chat template %q", info.ChatTemplate)
			}
			if info.SizeBytes == 0 || !strings.Contains(info.Description, "llama") {
				t.Errorf("size %d, description %q", info.SizeBytes, info.Description)
			}
			if o := m.Options(); o.ContextSize != 512 || o.Threads != 1 || o.Parallel != 1 || o.BatchSize != 512 {
				t.Errorf("options with defaults %+v", o)
			}
		})
	}
}

func TestTokenize(t *testing.T) {
	m := loadTiny(t, Options{})
	cases := []struct {
		name string
		text string
	}{
		{"corpus sentence", "The river town wakes before the sun."},
		{"unseen words", "Quixotic zebras juggle xylophones."},
		{"accents and emoji by byte fallback", "naïve café ☕ 日本"},
		{"newlines and tabs", "line one\n\tline two\n"},
		{"json", `{"label": "billing", "priority": 2}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			toks, err := m.Tokenize(tc.text, false, false)
			if err != nil {
				t.Fatal(err)
			}
			if len(toks) == 0 || len(toks) > len(tc.text)+1 {
				t.Fatalf("%d tokens for %d bytes", len(toks), len(tc.text))
			}
			back, err := m.Detokenize(toks)
			if err != nil || back != tc.text {
				t.Fatalf("round trip gave %q, %v; want %q", back, err, tc.text)
			}
		})
	}
	t.Run("frequent words are single tokens", func(t *testing.T) {
		toks, _ := m.Tokenize("the model", false, false)
		if len(toks) != 2 {
			t.Errorf("%q is %d tokens, want 2", "the model", len(toks))
		}
	})
	t.Run("start token added on request", func(t *testing.T) {
		toks, _ := m.Tokenize("hi", true, false)
		if toks[0] != 1 {
			t.Errorf("first token %d, want BOS 1", toks[0])
		}
	})
	t.Run("control tokens parsed only on request", func(t *testing.T) {
		special, _ := m.Tokenize("<|im_end|>", false, true)
		plain, _ := m.Tokenize("<|im_end|>", false, false)
		if !slices.Equal(special, []int32{4}) || len(plain) < 2 {
			t.Errorf("parsed %v, plain %v; want [4] and a spelled-out sequence", special, plain)
		}
		if !m.IsEndOfGeneration(4) || !m.IsEndOfGeneration(2) || m.IsEndOfGeneration(10) {
			t.Error("end-of-generation tokens: want </s> and <|im_end|> only")
		}
	})
	t.Run("bad token ids", func(t *testing.T) {
		if _, err := m.Detokenize([]int32{5, 640}); err == nil {
			t.Error("token 640 of a 640-token vocabulary was accepted")
		}
	})
}

func TestBuildInfo(t *testing.T) {
	b := BuildInfo()
	if len(b.Features) == 0 || b.SystemInfo == "" {
		t.Fatalf("build info %+v", b)
	}
	// The Makefile builds with SIMD flags; a build without them is many
	// times slower, which this catches before users notice.
	if (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") && !b.Optimized() {
		t.Errorf("engine built without SIMD (features %v); build and test through make, which sets ENGINE_ENV", b.Features)
	}
	if !strings.Contains(b.String(), strings.Join(b.Features, " ")) {
		t.Errorf("String() = %q", b.String())
	}
}

// TestTensorTypeLayout holds package gguf's table of block layouts, which
// decides whether a file is truncated, against ggml's own.
func TestTensorTypeLayout(t *testing.T) {
	for _, typ := range gguf.TensorTypes() {
		t.Run(typ.String(), func(t *testing.T) {
			blk, size := ggmlTypeLayout(typ)
			if blk != typ.BlockSize() || size != typ.TypeSize() {
				t.Errorf("gguf says %d elements in %d bytes, ggml says %d in %d", typ.BlockSize(), typ.TypeSize(), blk, size)
			}
		})
	}
}
