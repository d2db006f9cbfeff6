// Package providertest holds fake model API servers and the contract suite
// every remote backend must pass.
//
// Each fake (NewOpenAIServer, NewAnthropicServer, NewGeminiServer) is an
// httptest server that speaks one API's real wire format: the request JSON
// it parses, the response JSON, the error body, and the server-sent events
// of a stream, event types included. A Handler decides each answer from the
// request, normalised into a ChatRequest, so tests elsewhere (the runner,
// `tunelab eval` end to end) can stand up a model that answers as they need:
//
//	srv := providertest.NewOpenAIServer(t, providertest.Text(func(r providertest.ChatRequest) (string, *providertest.HTTPError) {
//		return "positive", nil
//	}))
//	// then use the model "openai-compatible:" + srv.URL + "#any-model"
//
// Run is the contract suite: one set of cases that each backend's tests run
// against its own fake.
package providertest

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/provider"
)

// ChatRequest is one chat call as a fake server received it, in a form
// common to every API. Each fake fills a field only from the place its API
// really carries it, so a backend that puts something in the wrong place
// shows up as a missing value.
type ChatRequest struct {
	API    string      // "openai", "anthropic" or "gemini"
	Path   string      // the URL path called
	Header http.Header // request headers as received
	APIKey string      // the key, from the header the API reads it from
	Model  string
	// System is the system prompt: OpenAI's leading system (or developer)
	// messages, Anthropic's system parameter, Gemini's systemInstruction.
	System string
	// Messages are the other turns with roles user and assistant (Gemini's
	// "model" is reported as "assistant").
	Messages    []provider.Message
	MaxTokens   int
	Temperature *float64
	TopP        *float64
	Seed        *int64
	Stop        []string
	// JSONSchema is the structured-output schema, set only when the request
	// asked for it in the API's own complete form (see each fake).
	JSONSchema json.RawMessage
	Stream     bool
	// Body is the whole decoded request, for API-specific assertions.
	Body map[string]any
}

// Reply is how a fake answers a chat call.
type Reply struct {
	Text string
	// Chunks are the stream's text deltas; nil splits Text after each space.
	Chunks []string
	// InputTokens and OutputTokens are reported as usage; when both are 0
	// they are counted as words, so usage is never empty.
	InputTokens, OutputTokens int
	// FinishReason is "stop" (the default) or "length", sent in the API's
	// own words (end_turn / max_tokens, STOP / MAX_TOKENS).
	FinishReason string
	// Model is the model named in the answer; empty echoes the request's.
	Model string
	// RawBody, when set, is sent as it is with status 200 in place of an
	// answer, to feed clients broken JSON.
	RawBody string
	// StreamError, when set, ends a stream after its chunks with this
	// error, sent the way the API reports a failure inside a stream.
	StreamError *HTTPError
	// Hang holds the call open until the client goes away, for
	// cancellation tests.
	Hang bool
}

// HTTPError is an error answer, sent with the API's own error body.
type HTTPError struct {
	Status  int
	Message string
	// RetryAfter is sent the way the API sends it: OpenAI as retry-after
	// and retry-after-ms headers, Anthropic as retry-after, Gemini as a
	// google.rpc.RetryInfo detail in the error body.
	RetryAfter time.Duration
}

// Handler answers one chat call. A non-nil *HTTPError wins over the Reply.
type Handler func(req ChatRequest) (Reply, *HTTPError)

// Text adapts the simplest handler, one that only chooses the text.
func Text(f func(req ChatRequest) (string, *HTTPError)) Handler {
	return func(req ChatRequest) (Reply, *HTTPError) {
		text, herr := f(req)
		return Reply{Text: text}, herr
	}
}

// EmbedRequest is one embeddings call as a fake received it.
type EmbedRequest struct {
	APIKey string
	Model  string
	Inputs []string
	Body   map[string]any
}

// EmbedHandler answers an embeddings call with one vector per input.
type EmbedHandler func(req EmbedRequest) ([][]float32, *HTTPError)

// Option changes a fake server.
type Option func(*Server)

// WithEmbedder makes the server answer embeddings calls with h instead of
// HashEmbed.
func WithEmbedder(h EmbedHandler) Option { return func(s *Server) { s.embed = h } }

// HashEmbed is the default embedder: a deterministic 8-dimensional unit
// vector per input built from hashes of its words, so equal texts get
// equal vectors and texts sharing words point the same way.
func HashEmbed(req EmbedRequest) ([][]float32, *HTTPError) {
	out := make([][]float32, len(req.Inputs))
	for i, in := range req.Inputs {
		out[i] = hashVector(in)
	}
	return out, nil
}

func hashVector(s string) []float32 {
	v := make([]float32, 8)
	for _, w := range strings.Fields(strings.ToLower(s)) {
		h := fnv.New32a()
		h.Write([]byte(w))
		v[h.Sum32()%8]++
	}
	var norm float64
	for _, x := range v {
		norm += float64(x * x)
	}
	if norm == 0 {
		v[0] = 1
		return v
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / math.Sqrt(norm))
	}
	return v
}

// Server is a running fake. URL is the base URL to give the SDK (or the
// openai-compatible model reference). Requests are recorded in arrival
// order.
type Server struct {
	URL string

	chat    Handler
	embed   EmbedHandler
	closing chan struct{}

	mu     sync.Mutex
	chats  []ChatRequest
	embeds []EmbedRequest
}

// Requests returns the chat calls received so far.
func (s *Server) Requests() []ChatRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ChatRequest(nil), s.chats...)
}

// Last returns the most recent chat call; it fails t when there was none.
func (s *Server) Last(t testing.TB) ChatRequest {
	t.Helper()
	reqs := s.Requests()
	if len(reqs) == 0 {
		t.Fatal("the fake server received no chat call")
	}
	return reqs[len(reqs)-1]
}

// EmbedRequests returns the embeddings calls received so far.
func (s *Server) EmbedRequests() []EmbedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]EmbedRequest(nil), s.embeds...)
}

func (s *Server) recordChat(r ChatRequest) {
	s.mu.Lock()
	s.chats = append(s.chats, r)
	s.mu.Unlock()
}

func (s *Server) recordEmbed(r EmbedRequest) {
	s.mu.Lock()
	s.embeds = append(s.embeds, r)
	s.mu.Unlock()
}

// start runs mux behind an httptest server that t closes. suffix is added
// to the server's address to form URL (OpenAI clients expect /v1 there).
func start(t testing.TB, h Handler, opts []Option, suffix string, mux func(s *Server) http.Handler) *Server {
	s := &Server{chat: h, embed: HashEmbed, closing: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	ts := httptest.NewServer(mux(s))
	s.URL = ts.URL + suffix
	t.Cleanup(func() {
		close(s.closing) // release hanging calls so Close does not wait on them
		ts.Close()
	})
	return s
}

// hang waits until the client gives up or the server shuts down. It gives
// up after a minute so a client that ignores cancellation fails its test
// instead of hanging it.
func (s *Server) hang(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-s.closing:
	case <-time.After(time.Minute):
	}
}

func decodeBody(r *http.Request) (map[string]any, []byte, error) {
	var raw json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&raw); err != nil {
		return nil, nil, err
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, nil, err
	}
	return body, raw, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// sse writes server-sent events, flushing each so the client sees the
// stream as it would from a real server.
type sse struct {
	w http.ResponseWriter
	f http.Flusher
}

func startSSE(w http.ResponseWriter) *sse {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	return &sse{w: w, f: f}
}

// event writes one event; an empty name writes a data-only event. sep is
// the blank-line separator ("\n\n", or "\r\n\r\n" as Google sends).
func (e *sse) event(name string, data any, sep string) {
	b, err := json.Marshal(data)
	if err != nil {
		panic(err) // the fakes only marshal maps they built
	}
	if name != "" {
		_, _ = e.w.Write([]byte("event: " + name + "\n"))
	}
	_, _ = e.w.Write([]byte("data: " + string(b) + sep))
	if e.f != nil {
		e.f.Flush()
	}
}

func (e *sse) raw(s string) {
	_, _ = e.w.Write([]byte(s))
	if e.f != nil {
		e.f.Flush()
	}
}

// chunks is the stream's deltas for rep.
func chunks(rep Reply) []string {
	if rep.Chunks != nil {
		return rep.Chunks
	}
	var out []string
	rest := rep.Text
	for rest != "" {
		i := strings.IndexByte(rest, ' ')
		if i < 0 {
			out = append(out, rest)
			break
		}
		out = append(out, rest[:i+1])
		rest = rest[i+1:]
	}
	return out
}

// usage fills in word counts when the handler reported none.
func usage(req ChatRequest, rep Reply) (in, out int) {
	if rep.InputTokens != 0 || rep.OutputTokens != 0 {
		return rep.InputTokens, rep.OutputTokens
	}
	in = len(strings.Fields(req.System))
	for _, m := range req.Messages {
		in += len(strings.Fields(m.Content))
	}
	text := rep.Text
	if rep.Chunks != nil {
		text = strings.Join(rep.Chunks, "")
	}
	return in, len(strings.Fields(text))
}

func fullText(rep Reply) string {
	if rep.Chunks != nil && rep.Text == "" {
		return strings.Join(rep.Chunks, "")
	}
	return rep.Text
}

// The helpers below read loosely typed JSON values the way the APIs send them.

func str(v any) string {
	s, _ := v.(string)
	return s
}

func obj(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func num(v any) (float64, bool) {
	f, ok := v.(float64)
	return f, ok
}

func floatPtr(v any) *float64 {
	if f, ok := num(v); ok {
		return &f
	}
	return nil
}

func intPtr(v any) *int64 {
	if f, ok := num(v); ok {
		n := int64(f)
		return &n
	}
	return nil
}

func intOf(v any) int {
	f, _ := num(v)
	return int(f)
}

func strings1(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, str(e))
		}
		return out
	}
	return nil
}

func rawJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}
