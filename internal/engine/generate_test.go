package engine

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/tunelab/tunelab/internal/gguf"
)

var hello = []Message{{Role: "system", Content: "Answer briefly."}, {Role: "user", Content: "When does the market open?"}}

func TestGreedyIsReproducible(t *testing.T) {
	path := newModelFile(t, gguf.Tiny())
	a := loadFile(t, path, Options{})
	b := loadFile(t, path, Options{}) // a second copy in memory, same answer
	ctx := context.Background()
	first, err := a.Chat(ctx, hello, GenerateOptions{MaxTokens: 24}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if first.OutputTokens != 24 || first.FinishReason != "length" || first.Text == "" || first.PromptTokens < 10 {
		t.Fatalf("result %+v: want 24 tokens of text, finish length", first)
	}
	for i, m := range []*Model{a, a, b} {
		again, err := m.Chat(ctx, hello, GenerateOptions{MaxTokens: 24}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if again.Text != first.Text {
			t.Errorf("run %d: %q, first run %q", i+2, again.Text, first.Text)
		}
	}
	// A prompt that differs must give a different continuation.
	other, _ := a.Chat(ctx, []Message{{Role: "user", Content: "Count the crates."}}, GenerateOptions{MaxTokens: 24}, nil)
	if other.Text == first.Text {
		t.Errorf("two prompts gave the same text %q", other.Text)
	}
}

func TestSampling(t *testing.T) {
	m := loadTiny(t, Options{})
	ctx := context.Background()
	run := func(seed uint32) string {
		r, err := m.Generate(ctx, "The lamps come on", GenerateOptions{MaxTokens: 30, Temperature: 1, TopP: 0.95, TopK: 100, Seed: seed}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r.Text
	}
	greedy, _ := m.Generate(ctx, "The lamps come on", GenerateOptions{MaxTokens: 30}, nil)
	cases := []struct {
		name      string
		a, b      string
		wantEqual bool
	}{
		{"same seed, same text", run(7), run(7), true},
		{"other seed, other text", run(7), run(8), false},
		{"sampling differs from greedy", run(7), greedy.Text, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if (tc.a == tc.b) != tc.wantEqual {
				t.Errorf("%q vs %q", tc.a, tc.b)
			}
		})
	}
}

func TestStopAndStream(t *testing.T) {
	m := loadTiny(t, Options{})
	ctx := context.Background()
	full, err := m.Generate(ctx, "Customer messages arrive", GenerateOptions{MaxTokens: 40}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A stop string taken from the middle of the greedy output must cut
	// the same output just before it.
	runes := []rune(full.Text)
	if len(runes) < 20 {
		t.Fatalf("output %q too short to test stops", full.Text)
	}
	stop := string(runes[10:14])
	cut := full.Text[:strings.Index(full.Text, stop)]
	cases := []struct {
		name   string
		stops  []string
		want   string
		finish string
	}{
		{"no stop", nil, full.Text, "length"},
		{"stop in the middle", []string{stop}, cut, "stop"},
		{"earliest of two stops", []string{"\x00never", stop}, cut, "stop"},
		{"stop that never appears", []string{"\x00never"}, full.Text, "length"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var pieces []string
			r, err := m.Generate(ctx, "Customer messages arrive", GenerateOptions{MaxTokens: 40, Stop: tc.stops}, func(s string) { pieces = append(pieces, s) })
			if err != nil {
				t.Fatal(err)
			}
			if r.Text != tc.want || r.FinishReason != tc.finish {
				t.Errorf("text %q finish %s; want %q finish %s", r.Text, r.FinishReason, tc.want, tc.finish)
			}
			if got := strings.Join(pieces, ""); got != r.Text {
				t.Errorf("streamed %q, result %q", got, r.Text)
			}
			for _, p := range pieces {
				if !utf8.ValidString(p) {
					t.Errorf("streamed piece %q is not valid UTF-8", p)
				}
			}
		})
	}
}

func TestChatTemplate(t *testing.T) {
	noTemplate := gguf.Tiny()
	noTemplate.NoChatTemplate = true
	unknown := gguf.Tiny()
	unknown.ChatTemplate = "{{ messages | tojson }}"
	cases := []struct {
		name string
		cfg  gguf.TinyConfig
		want string
	}{
		{"chatml", gguf.Tiny(), "<|im_start|>system\nAnswer briefly.<|im_end|>\n<|im_start|>user\nWhen does the market open?<|im_end|>\n<|im_start|>assistant\n"},
		{"no template", noTemplate, "System: Answer briefly.\n\nUser: When does the market open?\n\nAssistant:"},
		{"template llama.cpp does not know", unknown, "System: Answer briefly.\n\nUser: When does the market open?\n\nAssistant:"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := loadFile(t, newModelFile(t, tc.cfg), Options{})
			got, err := m.ApplyChatTemplate(hello, true)
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v\nwant %q", got, err, tc.want)
			}
			r, err := m.Chat(context.Background(), hello, GenerateOptions{MaxTokens: 4}, nil)
			if err != nil || r.OutputTokens == 0 {
				t.Fatalf("chat: %+v, %v", r, err)
			}
		})
	}
	m := loadTiny(t, Options{})
	if _, err := m.ApplyChatTemplate(nil, true); err == nil {
		t.Error("an empty conversation was accepted")
	}
}

func TestChatExample(t *testing.T) {
	m := loadTiny(t, Options{})
	prompt, completion, err := m.ChatExample(hello, "At nine.")
	if err != nil {
		t.Fatal(err)
	}
	open, _ := m.ApplyChatTemplate(hello, true)
	want, _ := m.Tokenize(open, true, true)
	if !slices.Equal(prompt, want) {
		t.Errorf("prompt %v, want the open chat's tokens %v", prompt, want)
	}
	turn, _ := m.Tokenize("At nine.<|im_end|>\n", false, true)
	if !slices.Equal(completion, turn) {
		t.Errorf("completion %v, want the answer and the end of its turn %v", completion, turn)
	}
}

func TestContextLimits(t *testing.T) {
	m := loadTiny(t, Options{ContextSize: 64, BatchSize: 16})
	ctx := context.Background()
	long := strings.Repeat("The river town wakes before the sun. ", 20)
	t.Run("prompt longer than the context", func(t *testing.T) {
		_, err := m.Generate(ctx, long, GenerateOptions{MaxTokens: 4}, nil)
		if !errors.Is(err, ErrContextOverflow) || !strings.Contains(err.Error(), "context holds 64") {
			t.Fatalf("error %v, want a context overflow naming the size", err)
		}
	})
	t.Run("generation stops when the context is full", func(t *testing.T) {
		toks, _ := m.Tokenize("The river town wakes before the sun. The market is full of carts and baskets and people who", true, false)
		if len(toks) >= 60 || len(toks) < 20 {
			t.Fatalf("prompt of %d tokens does not suit this test", len(toks))
		}
		r, err := m.GenerateTokens(ctx, toks, GenerateOptions{MaxTokens: 200}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.FinishReason != "length" || r.PromptTokens+r.OutputTokens != 65 {
			t.Errorf("%d prompt + %d output tokens, finish %s; want 64+1 tokens and length", r.PromptTokens, r.OutputTokens, r.FinishReason)
		}
	})
	t.Run("prompt decoded in several batches", func(t *testing.T) {
		toks, _ := m.Tokenize(strings.Repeat("Numbers tell part of the story. ", 3), true, false)
		if len(toks) <= 16 || len(toks) >= 60 {
			t.Fatalf("prompt of %d tokens does not suit this test", len(toks))
		}
		small, err := m.GenerateTokens(ctx, toks, GenerateOptions{MaxTokens: 3}, nil)
		if err != nil {
			t.Fatal(err)
		}
		big := loadTiny(t, Options{ContextSize: 64, BatchSize: 64})
		one, err := big.GenerateTokens(ctx, toks, GenerateOptions{MaxTokens: 3}, nil)
		if err != nil || one.Text != small.Text {
			t.Errorf("batches of 16 gave %q, one batch %q (%v)", small.Text, one.Text, err)
		}
	})
	t.Run("the model still works afterwards", func(t *testing.T) {
		if _, err := m.Generate(ctx, "Hello", GenerateOptions{MaxTokens: 4}, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bad prompts", func(t *testing.T) {
		if _, err := m.GenerateTokens(ctx, nil, GenerateOptions{}, nil); err == nil {
			t.Error("an empty prompt was accepted")
		}
		if _, err := m.GenerateTokens(ctx, []int32{1, 9999}, GenerateOptions{}, nil); err == nil {
			t.Error("a token outside the vocabulary was accepted")
		}
	})
}

func TestConcurrentUse(t *testing.T) {
	m := loadTiny(t, Options{Parallel: 2, Threads: 1})
	ctx := context.Background()
	want, err := m.Chat(ctx, hello, GenerateOptions{MaxTokens: 16}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantVec, _, err := m.Embed(ctx, "the market")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 12)
	for i := range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%3 == 2 {
				v, _, err := m.Embed(ctx, "the market")
				if err == nil && v[0] != wantVec[0] {
					err = errors.New("embedding differs under concurrency")
				}
				errs <- err
				return
			}
			r, err := m.Chat(ctx, hello, GenerateOptions{MaxTokens: 16}, nil)
			if err == nil && r.Text != want.Text {
				err = errors.New("text differs under concurrency: " + r.Text)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestCancelAndClose(t *testing.T) {
	m := loadTiny(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := m.Generate(ctx, "The old lighthouse", GenerateOptions{MaxTokens: 200}, func(string) {
		if n++; n == 3 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := m.Generate(context.Background(), "x", GenerateOptions{}, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Generate after Close: %v, want ErrClosed", err)
	}
	if _, _, err := m.Embed(context.Background(), "x"); !errors.Is(err, ErrClosed) {
		t.Errorf("Embed after Close: %v, want ErrClosed", err)
	}
}
