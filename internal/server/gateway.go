package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/provider"
)

// Public is the surface applications call.
func (s *Server) Public() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.handleChat)
	mux.HandleFunc("POST /v1/completions", s.handleCompletion)
	mux.HandleFunc("POST /v1/embeddings", s.handleEmbeddings)
	mux.HandleFunc("GET /v1/models", s.handleModels)
	mux.HandleFunc("POST /v1/feedback", s.handlePublicFeedback)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("GET /readyz", s.handleReady)
	return mux
}

func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, err := s.opts.Store.Deployments(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "store unreachable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// call is one request to a deployment, from decoding to its trace.
type call struct {
	endpoint string
	name     string
	input    string
	request  []provider.Message
	stream   bool
	// Overrides from the request; nil keeps the candidate's setting.
	maxTokens   *int
	temperature *float64
	seed        *int64
	stop        []string
}

// gate authenticates, limits and decodes; it writes the error itself.
func (s *Server) gate(w http.ResponseWriter, r *http.Request, into any) (lab.APIKey, bool) {
	key, aerr := s.authenticate(r)
	if aerr != nil {
		writeError(w, aerr)
		return key, false
	}
	if !s.allow(key) {
		s.metrics.limited.Inc()
		w.Header().Set("Retry-After", "1")
		writeError(w, &apiError{Status: http.StatusTooManyRequests, Type: "rate_limit_error", Code: "rate_limit_exceeded",
			Message: fmt.Sprintf("Rate limit reached for key %s: %d requests per minute", key.ID, key.RPM)})
		return key, false
	}
	return key, s.decodeBody(w, r, into)
}

// decodeBody reads a JSON body of at most MaxBytes into into; on failure
// it writes the error (413 for a body over the limit) and returns false.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, into any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBody)
	if err := json.NewDecoder(r.Body).Decode(into); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, &apiError{Status: http.StatusRequestEntityTooLarge, Type: "invalid_request_error",
				Message: fmt.Sprintf("Request body is larger than the gateway's limit of %d bytes", s.opts.MaxBody)})
			return false
		}
		writeError(w, errBadRequest("Request body is not valid JSON: %v", err))
		return false
	}
	return true
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	key, ok := s.gate(w, r, &req)
	if !ok {
		return
	}
	c, aerr := chatCall(req)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	s.serve(w, r, key, c, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
}

func chatCall(req chatRequest) (call, *apiError) {
	c := call{endpoint: "chat", name: req.Model, stream: req.Stream, temperature: req.Temperature, seed: req.Seed}
	if req.N != nil && *req.N != 1 {
		return c, errBadRequest("n=%d is not supported: a deployment answers once per call", *req.N)
	}
	if len(req.Tools) > 0 && string(req.Tools) != "null" && string(req.Tools) != "[]" {
		return c, errBadRequest("tools are not supported by tunelab deployments")
	}
	c.maxTokens = req.MaxTokens
	if req.MaxCompletionTokens != nil {
		c.maxTokens = req.MaxCompletionTokens
	}
	stop, err := stringsOf(req.Stop, "stop")
	if err != nil {
		return c, errBadRequest("%v", err)
	}
	c.stop = stop
	for i, m := range req.Messages {
		text, err := m.text()
		if err != nil {
			return c, errBadRequest("messages[%d]: %v", i, err)
		}
		c.request = append(c.request, provider.Message{Role: m.Role, Content: text})
		if m.Role == "user" {
			c.input = text
		}
	}
	if c.input == "" {
		return c, errBadRequest("messages has no user message: the deployment answers the last user message")
	}
	return c, nil
}

func (s *Server) handleCompletion(w http.ResponseWriter, r *http.Request) {
	var req completionRequest
	key, ok := s.gate(w, r, &req)
	if !ok {
		return
	}
	prompts, err := stringsOf(req.Prompt, "prompt")
	if err != nil || len(prompts) != 1 {
		writeError(w, errBadRequest("prompt must be one string"))
		return
	}
	if req.N != nil && *req.N != 1 {
		writeError(w, errBadRequest("n=%d is not supported: a deployment answers once per call", *req.N))
		return
	}
	stop, err := stringsOf(req.Stop, "stop")
	if err != nil {
		writeError(w, errBadRequest("%v", err))
		return
	}
	c := call{endpoint: "completions", name: req.Model, input: prompts[0], stream: req.Stream,
		maxTokens: req.MaxTokens, temperature: req.Temperature, seed: req.Seed, stop: stop,
		request: []provider.Message{{Role: "user", Content: prompts[0]}}}
	s.serve(w, r, key, c, req.StreamOptions != nil && req.StreamOptions.IncludeUsage)
}

// route picks the deployment that answers: the named one (top), or an
// arm of its split.
func (s *Server) route(ctx context.Context, name string) (top, served *live, err error) {
	top, err = s.deployment(ctx, name)
	if err != nil || len(top.d.Split) == 0 {
		return top, top, err
	}
	x := rand.Float64()
	for _, arm := range top.d.Split {
		if x < arm.Weight {
			served, err = s.deployment(ctx, arm.Deployment)
			return top, served, err
		}
		x -= arm.Weight
	}
	return top, top, nil
}

// serve answers one call and records its trace before the client sees
// the end of the answer.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, key lab.APIKey, c call, includeUsage bool) {
	start := time.Now()
	if !key.Allows(c.name) {
		writeError(w, &apiError{Status: http.StatusForbidden, Type: "invalid_request_error", Code: "model_not_allowed",
			Message: fmt.Sprintf("This key may not call deployment %q", c.name)})
		return
	}
	top, l, err := s.route(r.Context(), c.name)
	if err != nil {
		var aerr *apiError
		if !errors.As(err, &aerr) {
			aerr = &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: "The gateway could not read its deployments"}
			s.logger.Error("read deployment", "deployment", c.name, "err", err)
		}
		writeError(w, aerr)
		return
	}
	if l.err != nil {
		writeError(w, &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Message: l.err.Error()})
		return
	}
	t := lab.Trace{ID: traceID(start), Deployment: c.name, Version: l.d.Version, Served: l.d.Name,
		KeyID: key.ID, Endpoint: c.endpoint, Stream: c.stream, Input: c.input, Request: c.request,
		Model: l.d.Candidate.Model, CreatedAt: start}
	ctx, span := s.span(r.Context(), l, c, t.ID)
	defer span.End()

	var sw *streamWriter
	var onDelta func(string)
	if c.stream {
		sw = newStreamWriter(w, c.endpoint, t.ID, c.name, start)
		onDelta = sw.delta
	}
	resp, rendered, retrieved, err := s.run(ctx, l.target, c, onDelta)
	t.Prompt, t.Retrieved = rendered, retrieved
	t.LatencyMS = float64(time.Since(start)) / float64(time.Millisecond)
	status := http.StatusOK
	var aerr *apiError
	if err != nil {
		aerr = callError(err, r.Context())
		status = aerr.Status
		t.Error = err.Error()
		span.SetStatus(codes.Error, t.Error)
	} else {
		t.Output, t.Answer = resp.Text, l.target.Builder.Extract(resp.Text)
		t.TokensIn, t.TokensOut = resp.Usage.InputTokens, resp.Usage.OutputTokens
		if l.target.Price != nil {
			t.Cost = l.target.Price(t.TokensIn, t.TokensOut, resp.Latency)
		}
		if span.IsRecording() {
			span.SetAttributes(attribute.Int("gen_ai.usage.input_tokens", t.TokensIn),
				attribute.Int("gen_ai.usage.output_tokens", t.TokensOut),
				attribute.StringSlice("gen_ai.response.finish_reasons", []string{finishReason(resp)}))
		}
	}
	if sw != nil && sw.started {
		// The client already has a 200; an error ends the stream instead.
		status = http.StatusOK
	}
	t.Status = status
	if lerr := s.log.Append(t); lerr != nil {
		// Without its trace the call must not count as answered.
		s.logger.Error("trace log", "trace", t.ID, "err", lerr)
		if sw == nil || !sw.started {
			writeError(w, &apiError{Status: http.StatusServiceUnavailable, Type: "server_error", Message: "The gateway could not record this call; retry"})
		}
		s.metrics.observe(c, t, "trace_error")
		return
	}
	s.metrics.observe(c, t, "")
	switch {
	case sw != nil:
		sw.finish(resp, aerr, includeUsage)
	case aerr != nil:
		writeError(w, aerr)
	default:
		w.Header().Set("X-Tunelab-Trace-Id", t.ID)
		writeJSON(w, http.StatusOK, responseBody(c.endpoint, t.ID, c.name, start, resp))
	}
	if top.d.Shadow != "" && err == nil {
		s.shadowCall(top.d.Shadow, c, key)
	}
}

// run renders the candidate's prompt for the call's input and asks the
// model, streaming when onDelta is set and the backend can.
func (s *Server) run(ctx context.Context, tg eval.Target, c call, onDelta func(string)) (*provider.Response, []provider.Message, []string, error) {
	msgs, retrieved, err := render(ctx, tg, lab.Example{ID: "live", Input: c.input})
	if err != nil {
		return nil, msgs, retrieved, err
	}
	req, err := eval.NewRequest(tg.Candidate, tg.Builder.Variant(), msgs)
	if err != nil {
		return nil, msgs, retrieved, err
	}
	if c.maxTokens != nil && (*c.maxTokens < req.MaxTokens || req.MaxTokens == 0) {
		req.MaxTokens = *c.maxTokens
	}
	if c.temperature != nil {
		req.Temperature = c.temperature
	}
	if c.seed != nil {
		req.Seed = c.seed
	}
	if len(c.stop) > 0 {
		req.Stop = c.stop
	}
	start := time.Now()
	var resp *provider.Response
	if sp, ok := tg.Provider.(provider.StreamProvider); ok && onDelta != nil {
		resp, err = sp.Stream(ctx, req, onDelta)
	} else {
		resp, err = tg.Provider.Complete(ctx, req)
		if err == nil && onDelta != nil {
			onDelta(resp.Text)
		}
	}
	if err != nil {
		return nil, msgs, retrieved, err
	}
	if resp.Latency == 0 {
		resp.Latency = time.Since(start)
	}
	if tg.CountTokens != nil {
		if resp.Usage.InputTokens == 0 {
			for _, m := range msgs {
				resp.Usage.InputTokens += tg.CountTokens(m.Content)
			}
		}
		if resp.Usage.OutputTokens == 0 && resp.Text != "" {
			resp.Usage.OutputTokens = tg.CountTokens(resp.Text)
		}
	}
	return resp, msgs, retrieved, nil
}

// render is what the candidate sends its model for ex: the retrieved
// chunks (for a retrieval candidate) rendered into its prompt.
func render(ctx context.Context, tg eval.Target, ex lab.Example) ([]provider.Message, []string, error) {
	var passages []prompt.Passage
	var retrieved []string
	if tg.Retrieve != nil {
		hits, err := tg.Retrieve(ctx, ex.Input)
		if err != nil {
			return nil, nil, fmt.Errorf("retrieve: %w", err)
		}
		for _, h := range hits {
			passages = append(passages, prompt.Passage{ID: h.Chunk.ID, Heading: h.Chunk.Label(), Text: h.Chunk.Text})
			retrieved = append(retrieved, h.Chunk.ID)
		}
	}
	msgs, err := tg.Builder.MessagesWith(ex, passages)
	return msgs, retrieved, err
}

// callError turns a model error into what the client sees. The provider's
// message is passed on: provider errors never carry credentials.
func callError(err error, reqCtx context.Context) *apiError {
	if reqCtx.Err() != nil {
		return &apiError{Status: 499, Type: "server_error", Message: "client closed the request"}
	}
	var pe *provider.Error
	if errors.As(err, &pe) && pe.StatusCode == http.StatusTooManyRequests {
		return &apiError{Status: http.StatusTooManyRequests, Type: "rate_limit_error", Message: "upstream model is rate limited: " + err.Error()}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &apiError{Status: http.StatusGatewayTimeout, Type: "server_error", Message: "the model did not answer in time"}
	}
	return &apiError{Status: http.StatusBadGateway, Type: "server_error", Message: "the model failed: " + err.Error()}
}

func finishReason(resp *provider.Response) string {
	if resp == nil || resp.FinishReason == "" {
		return "stop"
	}
	return resp.FinishReason
}

func responseBody(endpoint, id, model string, start time.Time, resp *provider.Response) chatResponse {
	fr := finishReason(resp)
	text := resp.Text
	out := chatResponse{ID: id, Created: start.Unix(), Model: model, Usage: usageOf(resp.Usage)}
	if endpoint == "completions" {
		out.Object = "text_completion"
		out.Choices = []chatChoice{{Text: &text, FinishReason: &fr}}
		return out
	}
	out.Object = "chat.completion"
	out.Choices = []chatChoice{{Message: &outMessage{Role: "assistant", Content: &text}, FinishReason: &fr}}
	return out
}

// span starts the call's OpenTelemetry span with the GenAI semantic
// conventions' attributes.
func (s *Server) span(ctx context.Context, l *live, c call, traceID string) (context.Context, trace.Span) {
	if !s.tracing {
		// Without an exporter the attributes would be built for nothing:
		// about 2 KiB of garbage per call, which the p99 pays for in GC.
		return ctx, trace.SpanFromContext(ctx)
	}
	op := "chat"
	if c.endpoint == "completions" {
		op = "text_completion"
	}
	ref, _ := provider.ParseRef(l.d.Candidate.Model)
	attrs := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", op),
		attribute.String("gen_ai.provider.name", ref.Provider),
		attribute.String("gen_ai.request.model", ref.Model),
		attribute.String("gen_ai.response.id", traceID),
		attribute.String("tunelab.deployment", c.name),
		attribute.Int("tunelab.deployment.version", l.d.Version),
	}
	if mt := l.d.Candidate.Params.MaxTokens; mt > 0 {
		attrs = append(attrs, attribute.Int("gen_ai.request.max_tokens", mt))
	}
	if tp := l.d.Candidate.Params.Temperature; tp != nil {
		attrs = append(attrs, attribute.Float64("gen_ai.request.temperature", *tp))
	}
	return s.tracer.Start(ctx, op+" "+ref.Model, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
}

// shadowCall sends a copy of c to the challenger, after the live answer
// and off its path; its trace is marked shadow and never returned.
func (s *Server) shadowCall(name string, c call, key lab.APIKey) {
	select {
	case s.shadow <- struct{}{}:
	default:
		s.metrics.shadowDropped.Inc()
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.shadow }()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		l, err := s.deployment(ctx, name)
		if err != nil || l.err != nil {
			s.metrics.shadowDropped.Inc()
			return
		}
		start := time.Now()
		t := lab.Trace{ID: traceID(start), Deployment: c.name, Version: l.d.Version, Served: l.d.Name, Shadow: true,
			KeyID: key.ID, Endpoint: c.endpoint, Input: c.input, Request: c.request, Model: l.d.Candidate.Model, CreatedAt: start}
		c.stream = false
		resp, rendered, retrieved, err := s.run(ctx, l.target, c, nil)
		t.Prompt, t.Retrieved = rendered, retrieved
		t.LatencyMS, t.Status = float64(time.Since(start))/float64(time.Millisecond), http.StatusOK
		if err != nil {
			t.Error, t.Status = err.Error(), callError(err, ctx).Status
		} else {
			t.Output, t.Answer = resp.Text, l.target.Builder.Extract(resp.Text)
			t.TokensIn, t.TokensOut = resp.Usage.InputTokens, resp.Usage.OutputTokens
			if l.target.Price != nil {
				t.Cost = l.target.Price(t.TokensIn, t.TokensOut, resp.Latency)
			}
		}
		if err := s.log.Append(t); err != nil {
			s.logger.Error("trace log", "trace", t.ID, "err", err)
		}
	}()
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	key, aerr := s.authenticate(r)
	if aerr != nil {
		writeError(w, aerr)
		return
	}
	deps, err := s.opts.Store.Deployments(r.Context())
	if err != nil {
		writeError(w, &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: "The gateway could not read its deployments"})
		return
	}
	out := modelList{Object: "list", Data: []modelInfo{}}
	for _, d := range deps {
		if key.Allows(d.Name) {
			out.Data = append(out.Data, modelInfo{ID: d.Name, Object: "model", Created: d.CreatedAt.Unix(), OwnedBy: "tunelab"})
		}
	}
	writeJSON(w, http.StatusOK, out)
}
