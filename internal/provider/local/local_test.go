package local

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/engine"
	"github.com/tunelab/tunelab/internal/gguf"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/provider/providertest"
)

// lab writes a tiny model (and an adapter for it) into a lab directory.
func lab(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	base := filepath.Join(dir, "models", "tiny.gguf")
	if err := os.MkdirAll(filepath.Dir(base), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := gguf.GenerateLlama(base, gguf.Tiny()); err != nil {
		t.Fatal(err)
	}
	h, err := gguf.ReadHeader(base)
	if err != nil {
		t.Fatal(err)
	}
	if err := gguf.GenerateLoRA(filepath.Join(dir, "models", "tuned.gguf"), h, gguf.LoRAConfig{Seed: 2, Rank: 4, Alpha: 4, Targets: []string{"attn_q", "attn_v", "ffn_up"}, Std: 0.5}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func newLocal(t *testing.T, dir string, opts map[string]string) *Provider {
	t.Helper()
	if opts == nil {
		opts = map[string]string{}
	}
	if _, ok := opts["threads"]; !ok {
		opts["threads"] = "1"
	}
	p, err := provider.New(provider.Config{Ref: provider.Ref{Provider: Name, Model: "models/tiny.gguf"}, Dir: dir, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	lp := p.(*Provider)
	t.Cleanup(func() { lp.Close() })
	return lp
}

var question = []provider.Message{{Role: "system", Content: "Reply briefly."}, {Role: "user", Content: "Was I charged twice?"}}

func TestComplete(t *testing.T) {
	dir := lab(t)
	p := newLocal(t, dir, nil)
	ctx := context.Background()
	resp, err := p.Complete(ctx, provider.Request{Model: "models/tiny.gguf", Messages: question, MaxTokens: 12})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "local" || resp.Model != "models/tiny.gguf" || resp.Text == "" || resp.Latency <= 0 {
		t.Errorf("name %q, response %+v", p.Name(), resp)
	}
	if resp.Usage.InputTokens < 10 || resp.Usage.OutputTokens != 12 || resp.FinishReason != "length" {
		t.Errorf("usage %+v finish %q, want 12 output tokens and length", resp.Usage, resp.FinishReason)
	}
	zero, seed, hot := 0.0, int64(9), 1.0
	cases := []struct {
		name string
		req  provider.Request
		same bool
	}{
		{"greedy again", provider.Request{Messages: question, MaxTokens: 12}, true},
		{"temperature 0 is greedy", provider.Request{Messages: question, MaxTokens: 12, Temperature: &zero}, true},
		{"sampling differs", provider.Request{Messages: question, MaxTokens: 12, Temperature: &hot, Seed: &seed}, false},
		{"other prompt differs", provider.Request{Messages: question[1:], MaxTokens: 12}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := p.Complete(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if (r.Text == resp.Text) != tc.same {
				t.Errorf("%q vs %q, want same=%v", r.Text, resp.Text, tc.same)
			}
		})
	}
	t.Run("same seed, same sample", func(t *testing.T) {
		a, _ := p.Complete(ctx, provider.Request{Messages: question, MaxTokens: 12, Temperature: &hot, Seed: &seed})
		b, _ := p.Complete(ctx, provider.Request{Messages: question, MaxTokens: 12, Temperature: &hot, Seed: &seed})
		if a == nil || b == nil || a.Text != b.Text {
			t.Errorf("seeded samples differ: %+v %+v", a, b)
		}
	})
	t.Run("stop", func(t *testing.T) {
		stop := string([]rune(resp.Text)[4:7])
		r, err := p.Complete(ctx, provider.Request{Messages: question, MaxTokens: 12, Stop: []string{stop}})
		if err != nil || r.FinishReason != "stop" || r.Text != resp.Text[:strings.Index(resp.Text, stop)] {
			t.Errorf("stop %q: %+v %v", stop, r, err)
		}
	})
	t.Run("stream", func(t *testing.T) {
		var got strings.Builder
		r, err := p.Stream(ctx, provider.Request{Messages: question, MaxTokens: 12}, func(s string) { got.WriteString(s) })
		if err != nil || r.Text != resp.Text || got.String() != resp.Text {
			t.Errorf("streamed %q, result %+v (%v), want %q", got.String(), r, err, resp.Text)
		}
	})
	t.Run("json schema", func(t *testing.T) {
		schema := json.RawMessage(`{"type":"object","properties":{"label":{"enum":["billing","login"]},"priority":{"type":"integer"}}}`)
		r, err := p.Complete(ctx, provider.Request{Messages: question, MaxTokens: 100, JSONSchema: schema})
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Label    string `json:"label"`
			Priority *int   `json:"priority"`
		}
		if err := json.Unmarshal([]byte(r.Text), &v); err != nil || (v.Label != "billing" && v.Label != "login") || v.Priority == nil {
			t.Errorf("output %q (%v) does not fit the schema", r.Text, err)
		}
	})
}

func TestDefaultsAndOptions(t *testing.T) {
	dir := lab(t)
	ctx := context.Background()
	t.Run("max_tokens option is the default limit", func(t *testing.T) {
		p := newLocal(t, dir, map[string]string{"max_tokens": "5"})
		r, err := p.Complete(ctx, provider.Request{Messages: question})
		if err != nil || r.Usage.OutputTokens != 5 {
			t.Errorf("%+v %v, want 5 output tokens", r, err)
		}
	})
	t.Run("without max_tokens the engine default", func(t *testing.T) {
		p := newLocal(t, dir, map[string]string{"ctx": "512"})
		r, err := p.Complete(ctx, provider.Request{Messages: question})
		if err != nil || r.Usage.OutputTokens != engine.DefaultMaxTokens {
			t.Errorf("%+v %v, want %d output tokens", r.Usage, err, engine.DefaultMaxTokens)
		}
	})
	t.Run("adapter changes the output", func(t *testing.T) {
		plain := newLocal(t, dir, nil)
		tuned := newLocal(t, dir, map[string]string{"adapter": "models/tuned.gguf"})
		half := newLocal(t, dir, map[string]string{"adapter": "models/tuned.gguf", "adapter_scale": "0"})
		a, _ := plain.Complete(ctx, provider.Request{Messages: question, MaxTokens: 12})
		b, _ := tuned.Complete(ctx, provider.Request{Messages: question, MaxTokens: 12})
		c, _ := half.Complete(ctx, provider.Request{Messages: question, MaxTokens: 12})
		if a == nil || b == nil || c == nil || a.Text == b.Text || a.Text != c.Text {
			t.Errorf("plain %+v, tuned %+v, scale 0 %+v: want tuned to differ and scale 0 to match", a, b, c)
		}
	})
	bad := []struct {
		name string
		opts map[string]string
		want string
	}{
		{"unknown option", map[string]string{"thread": "2"}, `unknown option "thread"`},
		{"threads not a number", map[string]string{"threads": "many"}, `threads="many"`},
		{"zero context", map[string]string{"ctx": "0"}, `ctx="0"`},
		{"negative scale", map[string]string{"adapter": "models/tuned.gguf", "adapter_scale": "-1"}, "adapter_scale"},
		{"scale without adapter", map[string]string{"adapter_scale": "0.5"}, "adapter is not"},
		{"missing adapter", map[string]string{"adapter": "models/none.gguf"}, "none.gguf does not exist"},
		{"model as adapter", map[string]string{"adapter": "models/tiny.gguf"}, "want \"adapter\""},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := provider.New(provider.Config{Ref: provider.Ref{Provider: Name, Model: "models/tiny.gguf"}, Dir: dir, Options: tc.opts})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	dir := lab(t)
	ctx := context.Background()
	t.Run("missing model", func(t *testing.T) {
		_, err := provider.New(provider.Config{Ref: provider.Ref{Provider: Name, Model: "models/absent.gguf"}, Dir: dir})
		if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "models", "absent.gguf")) {
			t.Fatalf("error %v, want it to name the resolved path", err)
		}
	})
	p := newLocal(t, dir, map[string]string{"ctx": "32"})
	cases := []struct {
		name string
		req  provider.Request
		is   error
		want string
	}{
		{"prompt longer than the context", provider.Request{Messages: []provider.Message{{Role: "user", Content: strings.Repeat("the market is full ", 20)}}}, engine.ErrContextOverflow, "context holds 32"},
		{"other model", provider.Request{Model: "other.gguf", Messages: question}, nil, `model "other.gguf"`},
		{"bad schema", provider.Request{Messages: question[1:], JSONSchema: json.RawMessage(`{"type":"date"}`)}, nil, "unknown type"},
		{"no messages", provider.Request{}, nil, "no messages"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := p.Complete(ctx, tc.req)
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Provider != Name || provider.IsRetryable(err) {
				t.Fatalf("error %T %v, want a non-retryable *provider.Error from local", err, err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to say %q", err, tc.want)
			}
		})
	}
	t.Run("timeout", func(t *testing.T) {
		tp, err := provider.New(provider.Config{Ref: provider.Ref{Provider: Name, Model: "models/tiny.gguf"}, Dir: dir, Timeout: time.Nanosecond, Options: map[string]string{"threads": "1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer tp.(*Provider).Close()
		if _, err := tp.Complete(ctx, provider.Request{Messages: question}); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error %v, want a deadline error", err)
		}
	})
}

func TestEmbed(t *testing.T) {
	p := newLocal(t, lab(t), nil)
	vecs, usage, err := p.Embed(context.Background(), "", []string{"refund for a double charge", "cannot log in", "refund for a double charge"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != 3 || len(vecs[0]) != 64 || usage.InputTokens < 6 {
		t.Fatalf("%d vectors of %d, usage %+v", len(vecs), len(vecs[0]), usage)
	}
	if vecs[0][0] != vecs[2][0] || vecs[0][0] == vecs[1][0] {
		t.Error("equal inputs should embed equally and different ones differently")
	}
	if _, _, err := p.Embed(context.Background(), "", []string{"ok", ""}); err == nil || !strings.Contains(err.Error(), "input 1") {
		t.Errorf("error %v, want one naming input 1", err)
	}
}

func TestModelsAreShared(t *testing.T) {
	dir := lab(t)
	before := shared.loaded()
	a := newLocal(t, dir, nil)
	b := newLocal(t, dir, map[string]string{"adapter": "models/tuned.gguf"})
	if a.model != b.model || shared.loaded() != before+1 {
		t.Fatalf("two providers of one model loaded %d copies", shared.loaded()-before)
	}
	c := newLocal(t, dir, map[string]string{"ctx": "64"})
	if c.model == a.model {
		t.Error("different engine settings shared one model")
	}
	a.Close()
	a.Close()
	if _, err := b.Complete(context.Background(), provider.Request{Messages: question, MaxTokens: 2}); err != nil {
		t.Fatalf("the model was freed while still in use: %v", err)
	}
	b.Close()
	c.Close()
	if shared.loaded() != before {
		t.Errorf("%d models still loaded after every provider closed", shared.loaded()-before)
	}
}

// TestBehaviour runs the provider contract that holds for every backend.
func TestBehaviour(t *testing.T) {
	p := newLocal(t, lab(t), map[string]string{"threads": "1", "parallel": "2"})
	providertest.Behave(t, p, "models/tiny.gguf")
}

func TestResolve(t *testing.T) {
	cases := []struct {
		name, dir, model, want string
	}{
		{"a lab model by name", "/lab", "tiny", "/lab/models/tiny.gguf"},
		{"a path in the lab", "/lab", "models/tiny.gguf", "/lab/models/tiny.gguf"},
		{"a file name with extension", "/lab", "x.gguf", "/lab/x.gguf"},
		{"an absolute path", "/lab", "/m/x.gguf", "/m/x.gguf"},
		{"no lab", "", "rel/x.gguf", "rel/x.gguf"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Resolve(tc.dir, tc.model); got != tc.want {
				t.Errorf("Resolve(%q, %q) = %q, want %q", tc.dir, tc.model, got, tc.want)
			}
		})
	}
	// And end to end: local:tiny loads models/tiny.gguf of the lab.
	dir := lab(t)
	p, err := provider.New(provider.Config{Ref: provider.Ref{Provider: Name, Model: "tiny"}, Dir: dir, Options: map[string]string{"threads": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	p.(*Provider).Close()
}
