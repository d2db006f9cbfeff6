package providertest

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/provider"
)

// NewAnthropicServer starts a fake of Anthropic's Messages API (plain and
// streamed). URL is the server root; clients add /v1/messages.
//
// Like the real API it refuses calls without the anthropic-version header
// or max_tokens, and fields the API does not know (a seed, say). Its
// JSONSchema is set from output_config.format {"type": "json_schema",
// "schema"}.
func NewAnthropicServer(t testing.TB, h Handler, opts ...Option) *Server {
	return start(t, h, opts, "", func(s *Server) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /v1/messages", s.anthropicMessages)
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			anthropicError(w, &HTTPError{Status: 404, Message: "Not found"})
		})
		return mux
	})
}

func anthropicError(w http.ResponseWriter, e *HTTPError) {
	if e.RetryAfter > 0 {
		w.Header().Set("retry-after", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
	}
	w.Header().Set("request-id", "req_fake")
	writeJSON(w, e.Status, anthropicErrorBody(e))
}

func anthropicErrorBody(e *HTTPError) map[string]any {
	typ := map[int]string{
		400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
		404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
		500: "api_error", 529: "overloaded_error",
	}[e.Status]
	if typ == "" {
		typ = "api_error"
	}
	return map[string]any{
		"type":  "error",
		"error": map[string]any{"type": typ, "message": e.Message},
	}
}

// anthropicText reads content or system: a string, or an array of blocks
// of which the text blocks count.
func anthropicText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var parts []string
	if blocks, ok := v.([]any); ok {
		for _, b := range blocks {
			if bb := obj(b); str(bb["type"]) == "text" {
				parts = append(parts, str(bb["text"]))
			}
		}
	}
	return strings.Join(parts, "\n\n")
}

// anthropicKnown are the request fields the fake accepts; the real API
// rejects others.
var anthropicKnown = map[string]bool{
	"model": true, "messages": true, "max_tokens": true, "system": true, "temperature": true,
	"top_p": true, "top_k": true, "stop_sequences": true, "stream": true, "metadata": true,
	"output_config": true, "tools": true, "tool_choice": true, "thinking": true, "service_tier": true,
}

func (s *Server) anthropicMessages(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("anthropic-version") == "" {
		anthropicError(w, &HTTPError{Status: 400, Message: "anthropic-version: header is required"})
		return
	}
	body, _, err := decodeBody(r)
	if err != nil {
		anthropicError(w, &HTTPError{Status: 400, Message: "invalid JSON body: " + err.Error()})
		return
	}
	for k := range body {
		if !anthropicKnown[k] {
			anthropicError(w, &HTTPError{Status: 400, Message: k + ": Extra inputs are not permitted"})
			return
		}
	}
	msgs, ok := body["messages"].([]any)
	if !ok || str(body["model"]) == "" {
		anthropicError(w, &HTTPError{Status: 400, Message: "messages: Field required"})
		return
	}
	if _, ok := num(body["max_tokens"]); !ok {
		anthropicError(w, &HTTPError{Status: 400, Message: "max_tokens: Field required"})
		return
	}
	req := ChatRequest{
		API: "anthropic", Path: r.URL.Path, Header: r.Header.Clone(), APIKey: r.Header.Get("x-api-key"),
		Model: str(body["model"]), Body: body, System: anthropicText(body["system"]),
		MaxTokens: intOf(body["max_tokens"]), Temperature: floatPtr(body["temperature"]),
		TopP: floatPtr(body["top_p"]), Stop: strings1(body["stop_sequences"]),
		Stream: body["stream"] == true,
	}
	for _, m := range msgs {
		mm := obj(m)
		req.Messages = append(req.Messages, provider.Message{Role: str(mm["role"]), Content: anthropicText(mm["content"])})
	}
	if f := obj(obj(body["output_config"])["format"]); str(f["type"]) == "json_schema" && f["schema"] != nil {
		req.JSONSchema = rawJSON(f["schema"])
	}
	s.recordChat(req)
	rep, herr := s.chat(req)
	switch {
	case herr != nil:
		anthropicError(w, herr)
		return
	case rep.Hang:
		s.hang(r.Context())
		return
	case rep.RawBody != "":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(rep.RawBody))
		return
	}
	model := rep.Model
	if model == "" {
		model = req.Model
	}
	stop := "end_turn"
	if rep.FinishReason == "length" {
		stop = "max_tokens"
	}
	in, out := usage(req, rep)
	if !req.Stream {
		writeJSON(w, 200, map[string]any{
			"id": "msg_fake", "type": "message", "role": "assistant", "model": model,
			"content":     []any{map[string]any{"type": "text", "text": fullText(rep)}},
			"stop_reason": stop, "stop_sequence": nil,
			"usage": map[string]any{
				"input_tokens": in, "output_tokens": out,
				"cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
			},
		})
		return
	}
	ev := startSSE(w)
	ev.event("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": []any{},
		"stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": in, "output_tokens": 1},
	}}, "\n\n")
	ev.event("content_block_start", map[string]any{
		"type": "content_block_start", "index": 0, "content_block": map[string]any{"type": "text", "text": ""},
	}, "\n\n")
	ev.event("ping", map[string]any{"type": "ping"}, "\n\n")
	for _, c := range chunks(rep) {
		ev.event("content_block_delta", map[string]any{
			"type": "content_block_delta", "index": 0, "delta": map[string]any{"type": "text_delta", "text": c},
		}, "\n\n")
	}
	if rep.StreamError != nil {
		ev.event("error", anthropicErrorBody(rep.StreamError), "\n\n")
		return
	}
	ev.event("content_block_stop", map[string]any{"type": "content_block_stop", "index": 0}, "\n\n")
	ev.event("message_delta", map[string]any{
		"type":  "message_delta",
		"delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": out},
	}, "\n\n")
	ev.event("message_stop", map[string]any{"type": "message_stop"}, "\n\n")
}
