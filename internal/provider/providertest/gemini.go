package providertest

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/provider"
)

// NewGeminiServer starts a fake of the Gemini API (generativelanguage,
// v1beta): models/{model}:generateContent, :streamGenerateContent?alt=sse
// and :batchEmbedContents. URL is the server root.
//
// Its JSONSchema is set from generationConfig.responseJsonSchema (or the
// older responseSchema) only when responseMimeType is application/json, as
// the API requires. Errors carry Google's status names and a RetryInfo
// detail for RetryAfter.
func NewGeminiServer(t testing.TB, h Handler, opts ...Option) *Server {
	return start(t, h, opts, "", func(s *Server) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("POST /v1beta/models/{call}", s.geminiCall)
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			geminiError(w, &HTTPError{Status: 404, Message: "Method not found."})
		})
		return mux
	})
}

func geminiError(w http.ResponseWriter, e *HTTPError) {
	writeJSON(w, e.Status, geminiErrorBody(e))
}

func geminiErrorBody(e *HTTPError) map[string]any {
	status := map[int]string{
		400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
		429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
	}[e.Status]
	if status == "" {
		status = "UNKNOWN"
	}
	body := map[string]any{"code": e.Status, "message": e.Message, "status": status}
	if e.RetryAfter > 0 {
		body["details"] = []any{map[string]any{
			"@type":      "type.googleapis.com/google.rpc.RetryInfo",
			"retryDelay": strconv.FormatFloat(e.RetryAfter.Seconds(), 'f', -1, 64) + "s",
		}}
	}
	return map[string]any{"error": body}
}

func geminiKey(r *http.Request) string {
	if k := r.Header.Get("x-goog-api-key"); k != "" {
		return k
	}
	return r.URL.Query().Get("key")
}

func geminiText(content any) string {
	var b strings.Builder
	parts, _ := obj(content)["parts"].([]any)
	for _, p := range parts {
		pp := obj(p)
		if pp["thought"] == true {
			continue
		}
		b.WriteString(str(pp["text"]))
	}
	return b.String()
}

func (s *Server) geminiCall(w http.ResponseWriter, r *http.Request) {
	model, method, ok := strings.Cut(r.PathValue("call"), ":")
	if !ok {
		geminiError(w, &HTTPError{Status: 404, Message: "Method not found."})
		return
	}
	body, _, err := decodeBody(r)
	if err != nil {
		geminiError(w, &HTTPError{Status: 400, Message: "Invalid JSON payload received. " + err.Error()})
		return
	}
	switch method {
	case "generateContent":
		s.geminiGenerate(w, r, model, body, false)
	case "streamGenerateContent":
		if r.URL.Query().Get("alt") != "sse" {
			geminiError(w, &HTTPError{Status: 400, Message: "the fake only streams server-sent events (alt=sse)"})
			return
		}
		s.geminiGenerate(w, r, model, body, true)
	case "batchEmbedContents":
		s.geminiEmbed(w, r, model, body)
	default:
		geminiError(w, &HTTPError{Status: 404, Message: "Method not found."})
	}
}

func parseGemini(r *http.Request, model string, body map[string]any, stream bool) (ChatRequest, string) {
	req := ChatRequest{
		API: "gemini", Path: r.URL.Path, Header: r.Header.Clone(), APIKey: geminiKey(r),
		Model: model, Body: body, Stream: stream,
	}
	contents, ok := body["contents"].([]any)
	if !ok || len(contents) == 0 {
		return req, "* GenerateContentRequest.contents: contents is not specified"
	}
	for _, c := range contents {
		role := str(obj(c)["role"])
		switch role {
		case "model":
			role = "assistant"
		case "user":
		default:
			return req, "Please use a valid role: user, model."
		}
		req.Messages = append(req.Messages, provider.Message{Role: role, Content: geminiText(c)})
	}
	if si := obj(body["systemInstruction"]); si != nil {
		req.System = geminiText(si)
	}
	gc := obj(body["generationConfig"])
	req.Temperature = floatPtr(gc["temperature"])
	req.TopP = floatPtr(gc["topP"])
	req.Seed = intPtr(gc["seed"])
	req.MaxTokens = intOf(gc["maxOutputTokens"])
	req.Stop = strings1(gc["stopSequences"])
	schema := gc["responseJsonSchema"]
	if schema == nil {
		schema = gc["responseSchema"]
	}
	if schema != nil {
		if str(gc["responseMimeType"]) != "application/json" {
			return req, "responseMimeType must be application/json when a response schema is set"
		}
		req.JSONSchema = rawJSON(schema)
	}
	return req, ""
}

func (s *Server) geminiGenerate(w http.ResponseWriter, r *http.Request, model string, body map[string]any, stream bool) {
	req, bad := parseGemini(r, model, body, stream)
	if bad != "" {
		geminiError(w, &HTTPError{Status: 400, Message: bad})
		return
	}
	s.recordChat(req)
	rep, herr := s.chat(req)
	switch {
	case herr != nil:
		geminiError(w, herr)
		return
	case rep.Hang:
		s.hang(r.Context())
		return
	case rep.RawBody != "":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(rep.RawBody))
		return
	}
	version := rep.Model
	if version == "" {
		version = model
	}
	finish := "STOP"
	if rep.FinishReason == "length" {
		finish = "MAX_TOKENS"
	}
	in, out := usage(req, rep)
	answer := func(text string, last bool) map[string]any {
		cand := map[string]any{
			"content": map[string]any{"role": "model", "parts": []any{map[string]any{"text": text}}},
			"index":   0,
		}
		m := map[string]any{"candidates": []any{cand}, "modelVersion": version, "responseId": "resp_fake"}
		if last {
			cand["finishReason"] = finish
			m["usageMetadata"] = map[string]any{
				"promptTokenCount": in, "candidatesTokenCount": out, "totalTokenCount": in + out,
			}
		}
		return m
	}
	if !stream {
		writeJSON(w, 200, answer(fullText(rep), true))
		return
	}
	ev := startSSE(w)
	cs := chunks(rep)
	if len(cs) == 0 {
		cs = []string{""}
	}
	for i, c := range cs {
		last := i == len(cs)-1 && rep.StreamError == nil
		ev.event("", answer(c, last), "\r\n\r\n")
	}
	if rep.StreamError != nil {
		ev.event("", geminiErrorBody(rep.StreamError), "\r\n\r\n")
	}
}

func (s *Server) geminiEmbed(w http.ResponseWriter, r *http.Request, model string, body map[string]any) {
	reqs, ok := body["requests"].([]any)
	if !ok || len(reqs) == 0 {
		geminiError(w, &HTTPError{Status: 400, Message: "* BatchEmbedContentsRequest.requests: requests is not specified"})
		return
	}
	req := EmbedRequest{APIKey: geminiKey(r), Model: model, Body: body}
	for _, q := range reqs {
		qq := obj(q)
		if str(qq["model"]) != "models/"+model {
			geminiError(w, &HTTPError{Status: 400, Message: "* BatchEmbedContentsRequest.requests: model must match the URL"})
			return
		}
		req.Inputs = append(req.Inputs, geminiText(qq["content"]))
	}
	s.recordEmbed(req)
	vecs, herr := s.embed(req)
	if herr != nil {
		geminiError(w, herr)
		return
	}
	embs := make([]any, len(vecs))
	for i, v := range vecs {
		embs[i] = map[string]any{"values": v}
	}
	writeJSON(w, 200, map[string]any{"embeddings": embs})
}
