package server

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/tunelab/tunelab/internal/provider"
)

// streamWriter sends server-sent events in the chunk format of OpenAI's
// streaming API. The first chunk commits the response to 200, so a later
// failure is reported as an error event instead.
type streamWriter struct {
	w        http.ResponseWriter
	flusher  http.Flusher
	endpoint string
	id       string
	model    string
	created  int64
	started  bool
}

func newStreamWriter(w http.ResponseWriter, endpoint, id, model string, start time.Time) *streamWriter {
	f, _ := w.(http.Flusher)
	return &streamWriter{w: w, flusher: f, endpoint: endpoint, id: id, model: model, created: start.Unix()}
}

func (s *streamWriter) begin() {
	if s.started {
		return
	}
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Tunelab-Trace-Id", s.id)
	s.w.WriteHeader(http.StatusOK)
}

func (s *streamWriter) event(v any) {
	s.begin()
	b, _ := json.Marshal(v) // chunks are plain structs: they always encode
	fmt.Fprintf(s.w, "data: %s\n\n", b)
	if s.flusher != nil {
		s.flusher.Flush()
	}
}

func (s *streamWriter) chunk(choice chatChoice, u *usage) chatResponse {
	obj := "chat.completion.chunk"
	if s.endpoint == "completions" {
		obj = "text_completion"
	}
	out := chatResponse{ID: s.id, Object: obj, Created: s.created, Model: s.model, Choices: []chatChoice{}, Usage: u}
	if u == nil {
		out.Choices = []chatChoice{choice}
	}
	return out
}

func (s *streamWriter) delta(text string) {
	if text == "" {
		return
	}
	if s.endpoint == "completions" {
		s.event(s.chunk(chatChoice{Text: &text}, nil))
		return
	}
	role := ""
	if !s.started {
		role = "assistant"
	}
	s.event(s.chunk(chatChoice{Delta: &outMessage{Role: role, Content: &text}}, nil))
}

// finish ends the stream: the finish reason, the usage chunk if asked for,
// and [DONE]; or the error, as a JSON error event, when the call failed.
func (s *streamWriter) finish(resp *provider.Response, aerr *apiError, includeUsage bool) {
	if aerr != nil {
		if !s.started {
			writeError(s.w, aerr)
			return
		}
		s.event(map[string]*apiError{"error": aerr})
		return
	}
	fr := finishReason(resp)
	if s.endpoint == "completions" {
		empty := ""
		s.event(s.chunk(chatChoice{Text: &empty, FinishReason: &fr}, nil))
	} else {
		s.event(s.chunk(chatChoice{Delta: &outMessage{}, FinishReason: &fr}, nil))
	}
	if includeUsage {
		s.event(s.chunk(chatChoice{}, usageOf(resp.Usage)))
	}
	fmt.Fprint(s.w, "data: [DONE]\n\n")
	if s.flusher != nil {
		s.flusher.Flush()
	}
}

func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req embeddingRequest
	key, ok := s.gate(w, r, &req)
	if !ok {
		return
	}
	inputs, err := stringsOf(req.Input, "input")
	if err != nil || len(inputs) == 0 {
		writeError(w, errBadRequest("input must be a string or an array of strings (token arrays are not supported)"))
		return
	}
	if req.EncodingFormat != "" && req.EncodingFormat != "float" && req.EncodingFormat != "base64" {
		writeError(w, errBadRequest("encoding_format must be float or base64"))
		return
	}
	if !key.Allows(req.Model) {
		writeError(w, &apiError{Status: http.StatusForbidden, Type: "invalid_request_error", Code: "model_not_allowed",
			Message: fmt.Sprintf("This key may not call deployment %q", req.Model)})
		return
	}
	l, err := s.deployment(r.Context(), req.Model)
	if err != nil {
		if aerr, ok := err.(*apiError); ok {
			writeError(w, aerr)
			return
		}
		writeError(w, &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: "The gateway could not read its deployments"})
		return
	}
	if l.err != nil {
		writeError(w, &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Message: l.err.Error()})
		return
	}
	emb, ok := l.target.Provider.(provider.Embedder)
	if !ok {
		writeError(w, errBadRequest("deployment %q runs %s, which cannot compute embeddings", req.Model, l.d.Candidate.Model))
		return
	}
	ref, _ := provider.ParseRef(l.d.Candidate.Model)
	vecs, u, err := emb.Embed(r.Context(), ref.Model, inputs)
	if err != nil {
		writeError(w, callError(err, r.Context()))
		return
	}
	out := embeddingResponse{Object: "list", Model: req.Model, Usage: usage{PromptTokens: u.InputTokens, TotalTokens: u.InputTokens}}
	for i, v := range vecs {
		var e any = v
		if req.EncodingFormat == "base64" {
			b := make([]byte, 4*len(v))
			for j, x := range v {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
			}
			e = base64.StdEncoding.EncodeToString(b)
		}
		out.Data = append(out.Data, embeddingData{Object: "embedding", Index: i, Embedding: e})
	}
	s.metrics.requests.WithLabelValues(req.Model, "embeddings", "200").Inc()
	writeJSON(w, http.StatusOK, out)
}
