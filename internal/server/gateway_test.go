package server

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/retrieval"
)

func client(h *harness, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(h.public.URL+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0))
}

// TestOfficialClient drives the gateway with openai-go, unchanged: chat,
// streamed chat, completions and the model list; each call leaves a trace
// that records what the client sent, what reached the model and the answer.
func TestOfficialClient(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	h := newHarness(t, Options{Tracer: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))})
	c := client(h, h.key("app", nil, 0))
	ctx := context.Background()

	chat, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "triage",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("ignored by the candidate"), openai.UserMessage("I want a refund")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := chat.Choices[0].Message.Content; got != "billing" {
		t.Errorf("chat answer = %q, want billing", got)
	}
	if chat.Usage.PromptTokens != 30 || chat.Usage.CompletionTokens != 2 {
		t.Errorf("usage = %+v, want the upstream's 30/2", chat.Usage)
	}
	if sys, _ := h.up.lastSystem.Load().(string); sys != "You route messages for triage." {
		t.Errorf("the model got system prompt %q, want the deployed candidate's", sys)
	}

	stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "triage",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("where is my parcel")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
	acc := openai.ChatCompletionAccumulator{}
	chunks := 0
	for stream.Next() {
		acc.AddChunk(stream.Current())
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != "shipping" || chunks < 3 {
		t.Errorf("streamed answer = %q in %d chunks, want shipping in several", got, chunks)
	}
	if acc.Usage.TotalTokens != 32 {
		t.Errorf("streamed usage = %+v, want 32 tokens", acc.Usage)
	}

	comp, err := c.Completions.New(ctx, openai.CompletionNewParams{Model: "triage",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("refund please")}})
	if err != nil {
		t.Fatal(err)
	}
	if comp.Choices[0].Text != "billing" {
		t.Errorf("completion = %q, want billing", comp.Choices[0].Text)
	}

	models, err := c.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(models.Data) != 1 || models.Data[0].ID != "triage" {
		t.Errorf("models = %+v, want [triage]", models.Data)
	}

	h.close()
	ts := h.traces(lab.TraceFilter{})
	if len(ts) != 3 {
		t.Fatalf("%d traces, want 3", len(ts))
	}
	byID := map[string]lab.Trace{}
	for _, tr := range ts {
		byID[tr.ID] = tr
	}
	tr, ok := byID[chat.ID]
	if !ok {
		t.Fatalf("no trace with the response's id %s", chat.ID)
	}
	if tr.Input != "I want a refund" || tr.Answer != "billing" || tr.Status != 200 || tr.Endpoint != "chat" ||
		len(tr.Request) != 2 || len(tr.Prompt) == 0 || !strings.Contains(tr.Prompt[len(tr.Prompt)-1].Content, "I want a refund") ||
		tr.TokensIn != 30 || tr.Cost <= 0 || tr.KeyID == "" {
		t.Errorf("chat trace = %+v", tr)
	}
	if st := byID[acc.ID]; !st.Stream || st.Answer != "shipping" {
		t.Errorf("stream trace = %+v, want a streamed shipping answer", st)
	}

	spans := rec.Ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	attrs := map[attribute.Key]attribute.Value{}
	for _, kv := range spans[0].Attributes() {
		attrs[kv.Key] = kv.Value
	}
	if attrs["gen_ai.operation.name"].AsString() != "chat" || attrs["gen_ai.request.model"].AsString() != "tiny" ||
		attrs["gen_ai.usage.input_tokens"].AsInt64() != 30 || attrs["gen_ai.response.id"].AsString() != chat.ID {
		t.Errorf("span attributes = %v", spans[0].Attributes())
	}
}

// TestRefusals checks each way a call is turned away, and that none of
// them reaches the model or leaves a trace.
func TestRefusals(t *testing.T) {
	h := newHarness(t, Options{MaxBody: 4096})
	good := h.key("app", nil, 0)
	scoped := h.key("other", []string{"billing-only"}, 0)
	revoked := h.key("old", nil, 0)
	ks, _ := h.store.Keys(context.Background())
	for _, k := range ks {
		if k.Name == "old" {
			if err := h.store.RevokeKey(context.Background(), k.ID, k.CreatedAt); err != nil {
				t.Fatal(err)
			}
		}
	}
	user := []map[string]string{{"role": "user", "content": "refund"}}
	tests := []struct {
		name   string
		key    string
		body   map[string]any
		status int
		msg    string
	}{
		{"no key", "", map[string]any{"model": "triage", "messages": user}, 401, "Missing API key"},
		{"wrong key", "tlk-nope", map[string]any{"model": "triage", "messages": user}, 401, "Incorrect"},
		{"revoked key", revoked, map[string]any{"model": "triage", "messages": user}, 401, "revoked"},
		{"key scoped elsewhere", scoped, map[string]any{"model": "triage", "messages": user}, 403, "may not call"},
		{"unknown deployment", good, map[string]any{"model": "nope", "messages": user}, 404, "does not exist"},
		{"no user message", good, map[string]any{"model": "triage", "messages": []map[string]string{{"role": "system", "content": "x"}}}, 400, "no user message"},
		{"n above one", good, map[string]any{"model": "triage", "messages": user, "n": 2}, 400, "n=2"},
		{"image content", good, map[string]any{"model": "triage", "messages": []map[string]any{{"role": "user", "content": []map[string]string{{"type": "image_url"}}}}}, 400, "image_url"},
		{"body too large", good, map[string]any{"model": "triage", "messages": []map[string]string{{"role": "user", "content": strings.Repeat("x", 5000)}}}, 413, "limit of 4096"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, out := h.post("/v1/chat/completions", tc.key, tc.body)
			msg, _ := out["error"].(map[string]any)["message"].(string)
			if status != tc.status || !strings.Contains(msg, tc.msg) {
				t.Errorf("status %d %q, want %d containing %q", status, msg, tc.status, tc.msg)
			}
		})
	}
	if n := h.up.calls.Load(); n != 0 {
		t.Errorf("refused calls reached the model %d times", n)
	}
	h.close()
	if ts := h.traces(lab.TraceFilter{}); len(ts) != 0 {
		t.Errorf("refused calls left %d traces", len(ts))
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, Options{})
	key := h.key("slow", nil, 60) // a burst of 6, then one a second
	user := []map[string]string{{"role": "user", "content": "refund"}}
	codes := map[int]int{}
	for range 10 {
		status, _ := h.post("/v1/chat/completions", key, map[string]any{"model": "triage", "messages": user})
		codes[status]++
	}
	if codes[200] < 6 || codes[200] > 7 || codes[http.StatusTooManyRequests] != 10-codes[200] {
		t.Errorf("statuses %v, want 6 or 7 answered and the rest 429", codes)
	}
}

// TestRetrievalCandidate serves a candidate that retrieves: the passages
// reach the model inside the prompt and their ids are kept in the trace.
func TestRetrievalCandidate(t *testing.T) {
	var queries []string
	resolve := func(d lab.Deployment) (eval.Target, error) {
		tg, err := resolveWith(t)(d)
		tg.Retrieve = func(_ context.Context, q string) ([]retrieval.Hit, error) {
			queries = append(queries, q)
			return []retrieval.Hit{{Chunk: retrieval.Chunk{ID: "refund-policy.md#2", Heading: "Refunds", Text: "Refunds take 5 days."}}}, nil
		}
		return tg, err
	}
	h := newHarness(t, Options{NoAuth: true, Resolve: resolve})
	status, out := h.post("/v1/chat/completions", "", map[string]any{"model": "triage",
		"messages": []map[string]string{{"role": "user", "content": "how long does a refund take?"}}})
	if status != 200 {
		t.Fatal(status, out)
	}
	if user, _ := h.up.lastUser.Load().(string); !strings.Contains(user, "Refunds take 5 days.") || !strings.Contains(user, "refund-policy.md#2") {
		t.Errorf("the model's user turn lacks the passage: %q", user)
	}
	h.close()
	ts := h.traces(lab.TraceFilter{})
	if len(ts) != 1 || len(ts[0].Retrieved) != 1 || ts[0].Retrieved[0] != "refund-policy.md#2" {
		t.Errorf("traces = %+v, want one with the retrieved chunk id", ts)
	}
	if len(queries) != 1 || queries[0] != "how long does a refund take?" {
		t.Errorf("retrieval queries = %q, want the user's message", queries)
	}
}
