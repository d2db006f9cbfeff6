package providertest

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/provider"
)

// NewOpenAIServer starts a fake of the OpenAI API's chat completions
// (plain and streamed) and embeddings endpoints. URL ends in /v1, as OpenAI
// base URLs and OpenAI-compatible servers' addresses do.
//
// Its JSONSchema is set from response_format {"type": "json_schema",
// "json_schema": {"name", "schema"}}; streamed usage is sent only when the
// request set stream_options.include_usage, as OpenAI does.
func NewOpenAIServer(t testing.TB, h Handler, opts ...Option) *Server {
	return start(t, h, opts, "/v1", func(s *Server) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /v1/chat/completions", s.openaiChat)
		mux.HandleFunc("POST /v1/embeddings", s.openaiEmbed)
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			openaiError(w, &HTTPError{Status: 404, Message: "Invalid URL (" + r.Method + " " + r.URL.Path + ")"})
		})
		return mux
	})
}

func openaiError(w http.ResponseWriter, e *HTTPError) {
	if e.RetryAfter > 0 {
		w.Header().Set("retry-after", strconv.Itoa(int(math.Ceil(e.RetryAfter.Seconds()))))
		w.Header().Set("retry-after-ms", strconv.FormatInt(e.RetryAfter.Milliseconds(), 10))
	}
	w.Header().Set("x-request-id", "req_fake")
	writeJSON(w, e.Status, openaiErrorBody(e))
}

func openaiErrorBody(e *HTTPError) map[string]any {
	typ, code := "invalid_request_error", any(nil)
	switch {
	case e.Status == 401:
		code = "invalid_api_key"
	case e.Status == 429:
		typ, code = "requests", "rate_limit_exceeded"
	case e.Status >= 500:
		typ = "server_error"
	}
	return map[string]any{"error": map[string]any{
		"message": e.Message, "type": typ, "param": nil, "code": code,
	}}
}

func bearer(r *http.Request) string {
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
}

// openaiContent reads a message's content: a string, or an array of
// {"type": "text", "text"} parts.
func openaiContent(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	var b strings.Builder
	if parts, ok := v.([]any); ok {
		for _, p := range parts {
			b.WriteString(str(obj(p)["text"]))
		}
	}
	return b.String()
}

func parseOpenAI(r *http.Request, body map[string]any) ChatRequest {
	req := ChatRequest{
		API: "openai", Path: r.URL.Path, Header: r.Header.Clone(), APIKey: bearer(r),
		Model: str(body["model"]), Body: body,
		Temperature: floatPtr(body["temperature"]), TopP: floatPtr(body["top_p"]),
		Seed: intPtr(body["seed"]), Stop: strings1(body["stop"]),
		Stream: body["stream"] == true,
	}
	if v, ok := body["max_completion_tokens"]; ok {
		req.MaxTokens = intOf(v)
	} else {
		req.MaxTokens = intOf(body["max_tokens"])
	}
	leading := true
	var system []string
	for _, m := range body["messages"].([]any) {
		mm := obj(m)
		role, text := str(mm["role"]), openaiContent(mm["content"])
		if leading && (role == "system" || role == "developer") {
			system = append(system, text)
			continue
		}
		leading = false
		req.Messages = append(req.Messages, provider.Message{Role: role, Content: text})
	}
	req.System = strings.Join(system, "\n\n")
	if rf := obj(body["response_format"]); str(rf["type"]) == "json_schema" {
		js := obj(rf["json_schema"])
		if str(js["name"]) != "" && js["schema"] != nil {
			req.JSONSchema = rawJSON(js["schema"])
		}
	}
	return req
}

func (s *Server) openaiChat(w http.ResponseWriter, r *http.Request) {
	body, _, err := decodeBody(r)
	if err != nil {
		openaiError(w, &HTTPError{Status: 400, Message: "We could not parse the JSON body of your request: " + err.Error()})
		return
	}
	if _, ok := body["messages"].([]any); !ok || str(body["model"]) == "" {
		openaiError(w, &HTTPError{Status: 400, Message: "you must provide a model parameter and messages"})
		return
	}
	req := parseOpenAI(r, body)
	s.recordChat(req)
	rep, herr := s.chat(req)
	switch {
	case herr != nil:
		openaiError(w, herr)
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
	finish := rep.FinishReason
	if finish == "" {
		finish = "stop"
	}
	in, out := usage(req, rep)
	usageJSON := map[string]any{"prompt_tokens": in, "completion_tokens": out, "total_tokens": in + out}
	if !req.Stream {
		writeJSON(w, 200, map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion", "created": 1700000000, "model": model,
			"choices": []any{map[string]any{
				"index":         0,
				"message":       map[string]any{"role": "assistant", "content": fullText(rep), "refusal": nil},
				"logprobs":      nil,
				"finish_reason": finish,
			}},
			"usage": usageJSON, "system_fingerprint": "fp_fake",
		})
		return
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
			"system_fingerprint": "fp_fake",
			"choices":            []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
		}
	}
	ev := startSSE(w)
	ev.event("", chunk(map[string]any{"role": "assistant", "content": ""}, nil), "\n\n")
	for _, c := range chunks(rep) {
		ev.event("", chunk(map[string]any{"content": c}, nil), "\n\n")
	}
	if rep.StreamError != nil {
		ev.event("", openaiErrorBody(rep.StreamError), "\n\n")
		return
	}
	ev.event("", chunk(map[string]any{}, finish), "\n\n")
	if obj(body["stream_options"])["include_usage"] == true {
		ev.event("", map[string]any{
			"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1700000000, "model": model,
			"choices": []any{}, "usage": usageJSON,
		}, "\n\n")
	}
	ev.raw("data: [DONE]\n\n")
}

func (s *Server) openaiEmbed(w http.ResponseWriter, r *http.Request) {
	body, _, err := decodeBody(r)
	if err != nil {
		openaiError(w, &HTTPError{Status: 400, Message: "We could not parse the JSON body of your request: " + err.Error()})
		return
	}
	req := EmbedRequest{APIKey: bearer(r), Model: str(body["model"]), Inputs: strings1(body["input"]), Body: body}
	if len(req.Inputs) == 0 {
		openaiError(w, &HTTPError{Status: 400, Message: "'input' is a required property"})
		return
	}
	s.recordEmbed(req)
	vecs, herr := s.embed(req)
	if herr != nil {
		openaiError(w, herr)
		return
	}
	tokens := 0
	data := make([]any, len(vecs))
	for i, v := range vecs {
		tokens += len(strings.Fields(req.Inputs[i]))
		var emb any = v
		if str(body["encoding_format"]) == "base64" {
			buf := make([]byte, 4*len(v))
			for j, x := range v {
				binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(x))
			}
			emb = base64.StdEncoding.EncodeToString(buf)
		}
		data[i] = map[string]any{"object": "embedding", "index": i, "embedding": emb}
	}
	writeJSON(w, 200, map[string]any{
		"object": "list", "data": data, "model": req.Model,
		"usage": map[string]any{"prompt_tokens": tokens, "total_tokens": tokens},
	})
}

// String makes failures in tests readable.
func (e *HTTPError) String() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message) }
