package cost

import (
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/tunelab/tunelab/internal/provider"
)

// TestMain makes any attempt to download tokenizer tables fail: the cache
// directory tiktoken would read is empty and every HTTP request goes to a
// proxy that refuses connections. The token tests then pass only if the
// tables really come from the embedded offline loader.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tiktoken-empty-cache")
	if err != nil {
		panic(err)
	}
	for k, v := range map[string]string{
		"TIKTOKEN_CACHE_DIR": dir,
		"DATA_GYM_CACHE_DIR": dir,
		"HTTP_PROXY":         "http://127.0.0.1:1",
		"HTTPS_PROXY":        "http://127.0.0.1:1",
		"NO_PROXY":           "",
	} {
		os.Setenv(k, v)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func TestEncodersLoadOffline(t *testing.T) {
	for _, enc := range []string{EncodingO200K, EncodingCL100K} {
		t.Run(enc, func(t *testing.T) {
			tk, err := getEncoder(enc)
			if err != nil {
				t.Fatalf("load %s with the network unreachable: %v", enc, err)
			}
			const text = "Offline tokenizers: ünïcödé, 東京, emoji 🚀."
			if got := tk.Decode(tk.EncodeOrdinary(text)); got != text {
				t.Fatalf("round trip = %q, want %q", got, text)
			}
		})
	}
}

func TestEncodingFor(t *testing.T) {
	tests := []struct {
		model, want string
	}{
		{"gpt-4o", EncodingO200K},
		{"gpt-4o-mini-2024-07-18", EncodingO200K},
		{"GPT-4.1-nano", EncodingO200K},
		{"gpt-5", EncodingO200K},
		{"gpt-5.4-mini", EncodingO200K},
		{"o3", EncodingO200K},
		{"o4-mini", EncodingO200K},
		{"ft:gpt-4o-mini-2024-07-18:acme::abc123", EncodingO200K},
		{"openai/gpt-4.1", EncodingO200K},
		{"gpt-oss-20b", EncodingO200K},
		{"gpt-4", EncodingCL100K},
		{"gpt-4-turbo", EncodingCL100K},
		{"gpt-3.5-turbo", EncodingCL100K},
		{"claude-sonnet-5-5", EncodingCL100K},
		{"gemini-2.5-flash", EncodingCL100K},
		{"qwen2.5:0.5b", EncodingCL100K},
		{"o1x-custom", EncodingCL100K}, // not an o-series name
		{"", EncodingCL100K},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			if got := EncodingFor(tc.model); got != tc.want {
				t.Fatalf("EncodingFor(%q) = %s, want %s", tc.model, got, tc.want)
			}
		})
	}
}

func TestCountTokens(t *testing.T) {
	tests := []struct {
		name  string
		model string
		text  string
		want  int
	}{
		{"empty", "gpt-4o", "", 0},
		{"hello world o200k", "gpt-4o", "hello world", 2},
		{"hello world cl100k", "gpt-4", "hello world", 2},
		// OpenAI's tiktoken cookbook: "tiktoken is great!" is 6 cl100k tokens.
		{"cookbook example cl100k", "gpt-3.5-turbo", "tiktoken is great!", 6},
		// Special-token markers in user text count as ordinary text, not
		// as one control token (and must not panic).
		{"special marker is plain text", "gpt-4", "<|endoftext|>", 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CountTokens(tc.model, tc.text); got != tc.want {
				t.Fatalf("CountTokens(%q, %q) = %d, want %d", tc.model, tc.text, got, tc.want)
			}
		})
	}
}

func TestCountTokensEncodingsDiffer(t *testing.T) {
	// o200k_base has a larger vocabulary with more non-English merges, so
	// non-Latin text takes fewer tokens than in cl100k_base. A model routed
	// to the wrong encoding would show equal counts.
	text := strings.Repeat("नमस्ते दुनिया, आप कैसे हैं? ", 10)
	o200k, cl100k := CountTokens("gpt-4o", text), CountTokens("gpt-4", text)
	if o200k <= 0 || cl100k <= 0 || o200k >= cl100k {
		t.Fatalf("Hindi text: o200k %d tokens, cl100k %d; want o200k strictly fewer", o200k, cl100k)
	}
}

func TestCountTokensConcurrent(t *testing.T) {
	const text = "The runner counts tokens from many goroutines at once."
	want := CountTokens("gpt-4o-mini", text)
	var wg sync.WaitGroup
	errs := make(chan int, 16)
	for range 16 {
		wg.Go(func() {
			if got := CountTokens("gpt-4o-mini", text); got != want {
				errs <- got
			}
		})
	}
	wg.Wait()
	close(errs)
	for got := range errs {
		t.Fatalf("concurrent count %d, want %d", got, want)
	}
}

func TestCountMessages(t *testing.T) {
	msgs := []provider.Message{
		{Role: "system", Content: "You are terse."},
		{Role: "user", Content: "hello world"},
	}
	tests := []struct {
		name string
		msgs []provider.Message
		want int
	}{
		{"none", nil, 0},
		// 3 (message wrapper) + 1 ("user") + 2 ("hello world") + 3 (reply).
		{"one message", msgs[1:], 9},
		{"two messages", msgs, 3 + (3 + CountTokens("gpt-4o", "system") + CountTokens("gpt-4o", "You are terse.")) + (3 + 1 + 2)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CountMessages("gpt-4o", tc.msgs); got != tc.want {
				t.Fatalf("CountMessages = %d, want %d", got, tc.want)
			}
		})
	}
}

func BenchmarkCountTokens(b *testing.B) {
	text := strings.Repeat("Classify the sentiment of this review as positive or negative. ", 20)
	CountTokens("gpt-4o", text)
	b.ReportAllocs()
	for b.Loop() {
		CountTokens("gpt-4o", text)
	}
}
