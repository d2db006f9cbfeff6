package providertest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/provider"
)

// FakeKey is the API key the contract suite gives every backend. No error
// a backend returns may contain it.
const FakeKey = "tl-fake-KEY-must-never-leak-7c0ffee"

// Settings is what the suite asks a backend to be built with.
type Settings struct {
	BaseURL    string
	Key        string
	Timeout    time.Duration // 0: the backend's default
	HTTPClient *http.Client  // nil: the backend's default
}

// Backend describes one backend to the contract suite.
type Backend struct {
	// Name is what the provider's Name returns and what its errors carry.
	Name string
	// NewServer starts the fake of the backend's API.
	NewServer func(t testing.TB, h Handler, opts ...Option) *Server
	// New builds the backend from s; it fails t when it cannot.
	New func(t *testing.T, s Settings) provider.Provider
	// EmbedModel is the model for the embeddings case; empty skips the case
	// (for APIs without embeddings).
	EmbedModel string
	// NoSeed says the API has no seed parameter, so none must be sent.
	NoSeed bool
	// CheckParams, when set, makes API-specific checks on the request of
	// the sampling-parameters case (which field carried max tokens...).
	CheckParams func(t *testing.T, req ChatRequest)
	// CheckSchema, likewise, for the structured-output case.
	CheckSchema func(t *testing.T, req ChatRequest)
}

// Run runs the contract suite against b.
func Run(t *testing.T, b Backend) {
	t.Run("completion", func(t *testing.T) { testCompletion(t, b) })
	t.Run("system placement", func(t *testing.T) { testSystem(t, b) })
	t.Run("sampling params", func(t *testing.T) { testParams(t, b) })
	t.Run("json schema", func(t *testing.T) { testSchema(t, b) })
	t.Run("concurrent calls", func(t *testing.T) { testConcurrent(t, b) })
	t.Run("errors", func(t *testing.T) { testErrors(t, b) })
	t.Run("malformed answer", func(t *testing.T) { testMalformed(t, b) })
	t.Run("cancel", func(t *testing.T) { testCancel(t, b) })
	t.Run("timeout", func(t *testing.T) { testTimeout(t, b) })
	t.Run("http client", func(t *testing.T) { testHTTPClient(t, b) })
	t.Run("unreachable", func(t *testing.T) { testUnreachable(t, b) })
	t.Run("stream", func(t *testing.T) { testStream(t, b) })
	t.Run("stream error", func(t *testing.T) { testStreamError(t, b) })
	t.Run("stream fails midway", func(t *testing.T) { testStreamMidway(t, b) })
	if b.EmbedModel != "" {
		t.Run("embeddings", func(t *testing.T) { testEmbed(t, b) })
	}
}

func userTurn(text string) []provider.Message {
	return []provider.Message{{Role: "user", Content: text}}
}

func setup(t *testing.T, b Backend, h Handler, opts ...Option) (*Server, provider.Provider) {
	srv := b.NewServer(t, h, opts...)
	return srv, b.New(t, Settings{BaseURL: srv.URL, Key: FakeKey})
}

// providerError checks that err is a *provider.Error from b that does not
// give the key away, and returns it.
func providerError(t *testing.T, b Backend, err error) *provider.Error {
	t.Helper()
	if err == nil {
		t.Fatal("call succeeded, want an error")
	}
	noKey(t, err)
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %T %v is not a *provider.Error", err, err)
	}
	if pe.Provider != b.Name {
		t.Errorf("error names provider %q, want %q", pe.Provider, b.Name)
	}
	return pe
}

func noKey(t *testing.T, err error) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), FakeKey) {
			t.Fatalf("the API key appears in an error: %s", e.Error())
		}
	}
}

func testCompletion(t *testing.T, b Backend) {
	cases := []struct {
		name       string
		reply      Reply
		wantFinish string
	}{
		{"stop", Reply{Text: "Paris", InputTokens: 11, OutputTokens: 2, Model: "served-model-1"}, "stop"},
		{"length", Reply{Text: "The capital of", InputTokens: 11, OutputTokens: 3, FinishReason: "length", Model: "served-model-1"}, "length"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, p := setup(t, b, func(ChatRequest) (Reply, *HTTPError) { return tc.reply, nil })
			resp, err := p.Complete(context.Background(), provider.Request{Model: "m-test", Messages: userTurn("Capital of France?")})
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			if p.Name() != b.Name {
				t.Errorf("Name %q, want %q", p.Name(), b.Name)
			}
			want := provider.Usage{InputTokens: tc.reply.InputTokens, OutputTokens: tc.reply.OutputTokens}
			if resp.Text != tc.reply.Text || resp.Usage != want || resp.FinishReason != tc.wantFinish {
				t.Errorf("got text %q usage %+v finish %q, want %q %+v %q", resp.Text, resp.Usage, resp.FinishReason, tc.reply.Text, want, tc.wantFinish)
			}
			if resp.Model != "served-model-1" {
				t.Errorf("model %q, want the served model", resp.Model)
			}
			if resp.Latency <= 0 {
				t.Errorf("latency %v not measured", resp.Latency)
			}
			req := srv.Last(t)
			if req.Model != "m-test" || req.APIKey != FakeKey || req.Stream {
				t.Errorf("server saw model %q, key ok %v, stream %v", req.Model, req.APIKey == FakeKey, req.Stream)
			}
			if !reflect.DeepEqual(req.Messages, userTurn("Capital of France?")) {
				t.Errorf("server saw messages %+v", req.Messages)
			}
		})
	}
}

func testSystem(t *testing.T, b Backend) {
	srv, p := setup(t, b, Text(func(ChatRequest) (string, *HTTPError) { return "ok", nil }))
	turns := []provider.Message{
		{Role: "system", Content: "Answer in one word."},
		{Role: "user", Content: "Capital of France?"},
		{Role: "assistant", Content: "Paris"},
		{Role: "user", Content: "And of Italy?"},
	}
	if _, err := p.Complete(context.Background(), provider.Request{Model: "m", Messages: turns}); err != nil {
		t.Fatal(err)
	}
	req := srv.Last(t)
	if req.System != "Answer in one word." {
		t.Errorf("system prompt %q, want it where the API keeps it", req.System)
	}
	if !reflect.DeepEqual(req.Messages, turns[1:]) {
		t.Errorf("turns %+v, want %+v", req.Messages, turns[1:])
	}
}

func testParams(t *testing.T, b Backend) {
	temp, topP, seed := 0.25, 0.5, int64(42)
	cases := []struct {
		name string
		req  provider.Request
		want func(t *testing.T, got ChatRequest)
	}{
		{
			name: "all set",
			req:  provider.Request{Model: "m", Messages: userTurn("hi"), MaxTokens: 77, Temperature: &temp, TopP: &topP, Seed: &seed, Stop: []string{"END", "\n\n"}},
			want: func(t *testing.T, got ChatRequest) {
				if got.MaxTokens != 77 || !eqf(got.Temperature, temp) || !eqf(got.TopP, topP) || !reflect.DeepEqual(got.Stop, []string{"END", "\n\n"}) {
					t.Errorf("server saw max %d temp %v top_p %v stop %q", got.MaxTokens, fp(got.Temperature), fp(got.TopP), got.Stop)
				}
				switch {
				case b.NoSeed && got.Seed != nil:
					t.Errorf("seed %d sent to an API without seeds", *got.Seed)
				case !b.NoSeed && (got.Seed == nil || *got.Seed != seed):
					t.Errorf("seed not sent")
				}
				if b.CheckParams != nil {
					b.CheckParams(t, got)
				}
			},
		},
		{
			name: "zero temperature is sent, unset stays unset",
			req:  provider.Request{Model: "m", Messages: userTurn("hi"), Temperature: new(float64)},
			want: func(t *testing.T, got ChatRequest) {
				if !eqf(got.Temperature, 0) {
					t.Errorf("temperature %v, want an explicit 0", fp(got.Temperature))
				}
				if got.TopP != nil || got.Seed != nil || len(got.Stop) != 0 {
					t.Errorf("unset fields were sent: top_p %v seed %v stop %q", fp(got.TopP), got.Seed, got.Stop)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, p := setup(t, b, Text(func(ChatRequest) (string, *HTTPError) { return "ok", nil }))
			if _, err := p.Complete(context.Background(), tc.req); err != nil {
				t.Fatal(err)
			}
			tc.want(t, srv.Last(t))
		})
	}
}

func eqf(p *float64, v float64) bool { return p != nil && *p == v }

func fp(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

const testSchemaJSON = `{"type":"object","properties":{"label":{"type":"string","enum":["pos","neg"]}},"required":["label"],"additionalProperties":false}`

func testSchema(t *testing.T, b Backend) {
	srv, p := setup(t, b, Text(func(ChatRequest) (string, *HTTPError) { return `{"label":"pos"}`, nil }))
	resp, err := p.Complete(context.Background(), provider.Request{
		Model: "m", Messages: userTurn("Great film!"), JSONSchema: json.RawMessage(testSchemaJSON), SchemaName: "sentiment",
	})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != `{"label":"pos"}` {
		t.Errorf("text %q", resp.Text)
	}
	req := srv.Last(t)
	var got, want any
	if err := json.Unmarshal(req.JSONSchema, &got); err != nil {
		t.Fatalf("no schema in the API's structured-output form: %v (body %v)", err, req.Body)
	}
	_ = json.Unmarshal([]byte(testSchemaJSON), &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("schema %s, want %s", req.JSONSchema, testSchemaJSON)
	}
	if b.CheckSchema != nil {
		b.CheckSchema(t, req)
	}
}

// testConcurrent sends calls from many goroutines through one provider, as
// the runner does, and checks that each gets its own answer.
func testConcurrent(t *testing.T, b Backend) {
	srv, p := setup(t, b, Text(func(r ChatRequest) (string, *HTTPError) {
		return "echo " + r.Messages[len(r.Messages)-1].Content, nil
	}))
	sp := streamer(t, p)
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prompt := "question " + string(rune('a'+i))
			var resp *provider.Response
			var err error
			if i%2 == 0 {
				resp, err = p.Complete(context.Background(), provider.Request{Model: "m", Messages: userTurn(prompt)})
			} else {
				resp, err = sp.Stream(context.Background(), provider.Request{Model: "m", Messages: userTurn(prompt)}, func(string) {})
			}
			switch {
			case err != nil:
				errs <- err
			case resp.Text != "echo "+prompt:
				errs <- errors.New("call for " + prompt + " got " + resp.Text)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := len(srv.Requests()); got != n {
		t.Errorf("server saw %d calls, want %d", got, n)
	}
}

func testErrors(t *testing.T, b Backend) {
	cases := []struct {
		name       string
		herr       HTTPError
		wantRetry  bool
		wantAfter  time.Duration
		echoTheKey bool
	}{
		{name: "429 with retry-after", herr: HTTPError{Status: 429, Message: "Rate limit reached for requests", RetryAfter: 3 * time.Second}, wantRetry: true, wantAfter: 3 * time.Second},
		{name: "500", herr: HTTPError{Status: 500, Message: "The server had an error"}, wantRetry: true},
		{name: "503", herr: HTTPError{Status: 503, Message: "The model is overloaded"}, wantRetry: true},
		{name: "400", herr: HTTPError{Status: 400, Message: "max_tokens is too large: 999999"}},
		{name: "401 echoing the key", herr: HTTPError{Status: 401, Message: "Incorrect API key provided: "}, echoTheKey: true},
		{name: "404", herr: HTTPError{Status: 404, Message: "The model m does not exist"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv, p := setup(t, b, func(req ChatRequest) (Reply, *HTTPError) {
				e := tc.herr
				if tc.echoTheKey {
					e.Message += req.APIKey // servers do quote keys back, in part or whole
				}
				return Reply{}, &e
			})
			_, err := p.Complete(context.Background(), provider.Request{Model: "m", Messages: userTurn("hi")})
			pe := providerError(t, b, err)
			if pe.StatusCode != tc.herr.Status || pe.Retryable != tc.wantRetry || pe.RetryAfter != tc.wantAfter {
				t.Errorf("got status %d retryable %v retry-after %v, want %d %v %v", pe.StatusCode, pe.Retryable, pe.RetryAfter, tc.herr.Status, tc.wantRetry, tc.wantAfter)
			}
			if !strings.Contains(pe.Message, tc.herr.Message) {
				t.Errorf("message %q lacks the API's %q", pe.Message, tc.herr.Message)
			}
			if n := len(srv.Requests()); n != 1 {
				t.Errorf("server saw %d calls: the SDK retried on its own", n)
			}
		})
	}
}

func testMalformed(t *testing.T, b Backend) {
	cases := []struct{ name, body string }{
		{"truncated json", `{"id": "x", "choices": [{"message": {"content": "unterminated`},
		{"not json", `<html>502 Bad Gateway</html>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, p := setup(t, b, func(ChatRequest) (Reply, *HTTPError) { return Reply{RawBody: tc.body}, nil })
			resp, err := p.Complete(context.Background(), provider.Request{Model: "m", Messages: userTurn("hi")})
			if err == nil {
				t.Fatalf("malformed answer accepted: %+v", resp)
			}
			providerError(t, b, err)
		})
	}
}

func testCancel(t *testing.T, b Backend) {
	arrived := make(chan struct{})
	var once sync.Once
	_, p := setup(t, b, func(ChatRequest) (Reply, *HTTPError) {
		once.Do(func() { close(arrived) })
		return Reply{Hang: true}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-arrived:
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err := p.Complete(ctx, provider.Request{Model: "m", Messages: userTurn("hi")})
	pe := providerError(t, b, err)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v is not context.Canceled", err)
	}
	if pe.Retryable {
		t.Error("a call the caller cancelled must not be retried")
	}
}

func testTimeout(t *testing.T, b Backend) {
	srv := b.NewServer(t, func(ChatRequest) (Reply, *HTTPError) { return Reply{Hang: true}, nil })
	p := b.New(t, Settings{BaseURL: srv.URL, Key: FakeKey, Timeout: 50 * time.Millisecond})
	_, err := p.Complete(context.Background(), provider.Request{Model: "m", Messages: userTurn("hi")})
	pe := providerError(t, b, err)
	if !pe.Retryable {
		t.Errorf("a call that ran out of time should be retryable: %v", err)
	}
}

// countingTransport counts the requests that go through it.
type countingTransport struct{ n atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

func testHTTPClient(t *testing.T, b Backend) {
	srv := b.NewServer(t, Text(func(ChatRequest) (string, *HTTPError) { return "ok", nil }))
	ct := &countingTransport{}
	p := b.New(t, Settings{BaseURL: srv.URL, Key: FakeKey, HTTPClient: &http.Client{Transport: ct}})
	if _, err := p.Complete(context.Background(), provider.Request{Model: "m", Messages: userTurn("hi")}); err != nil {
		t.Fatal(err)
	}
	if ct.n.Load() != 1 {
		t.Errorf("the configured HTTP client carried %d calls, want 1", ct.n.Load())
	}
}

func testUnreachable(t *testing.T, b Backend) {
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	p := b.New(t, Settings{BaseURL: url, Key: FakeKey})
	_, err := p.Complete(context.Background(), provider.Request{Model: "m", Messages: userTurn("hi")})
	pe := providerError(t, b, err)
	if !pe.Retryable || pe.StatusCode != 0 {
		t.Errorf("refused connection: retryable %v status %d, want retryable with no status", pe.Retryable, pe.StatusCode)
	}
}
