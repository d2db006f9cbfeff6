// Command upstream is a stand-in for an OpenAI-compatible model server that
// answers at once, so that a benchmark of evaluation harnesses measures the
// harnesses and not the model. It serves POST /v1/chat/completions (non
// streaming: neither tunelab nor promptfoo's openai provider asks for a
// stream) and GET /v1/models, and counts the completions it served so a
// benchmark can prove every harness made every call.
//
// The answer is one label from -labels, picked by a hash of the whole
// conversation: the same request always gets the same answer, whichever
// harness sends it, so two harnesses that send the same prompts must report
// the same accuracy.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type chatRequest struct {
	Model    string    `json:"model"`
	Messages []message `json:"messages"`
	Stream   bool      `json:"stream"`
}

type choice struct {
	Index        int             `json:"index"`
	Message      responseMessage `json:"message"`
	FinishReason string          `json:"finish_reason"`
}

type responseMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type chatResponse struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []choice `json:"choices"`
	Usage   usage    `json:"usage"`
}

type server struct {
	labels []string
	// served counts completions answered; rejected counts bad requests, which
	// a benchmark should never cause.
	served   atomic.Int64
	rejected atomic.Int64
}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on (port 0: any free port, printed on stdout)")
	labels := flag.String("labels", "billing,shipping,returns,account,technical,sales,privacy,complaint,feedback,other", "comma-separated answers to choose from")
	flag.Parse()
	if err := run(*addr, splitLabels(*labels)); err != nil {
		log.Fatalf("upstream: %v", err)
	}
}

func splitLabels(s string) []string {
	var out []string
	for _, l := range strings.Split(s, ",") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func run(addr string, labels []string) error {
	if len(labels) == 0 {
		return errors.New("-labels: give at least one label")
	}
	s := &server{labels: labels}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	// The first stdout line is the address, for scripts that asked for port 0.
	fmt.Printf("listening on %s\n", ln.Addr())
	srv := &http.Server{Handler: s.handler(), ReadHeaderTimeout: 10 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	fmt.Printf("requests served: %d, rejected: %d\n", s.served.Load(), s.rejected.Load())
	return nil
}

func (s *server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.completions)
	mux.HandleFunc("GET /v1/models", s.models)
	mux.HandleFunc("GET /stats", s.stats)
	return mux
}

func (s *server) completions(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.fail(w, http.StatusBadRequest, "body is not a chat completion request: "+err.Error())
		return
	}
	if len(req.Messages) == 0 {
		s.fail(w, http.StatusBadRequest, "messages is empty")
		return
	}
	if req.Stream {
		s.fail(w, http.StatusBadRequest, "stream is not supported by this benchmark server")
		return
	}
	h := fnv.New64a()
	promptChars := 0
	for _, m := range req.Messages {
		text := contentText(m.Content)
		promptChars += len(text)
		h.Write([]byte(m.Role))
		h.Write([]byte{0})
		h.Write([]byte(text))
		h.Write([]byte{0})
	}
	answer := s.labels[h.Sum64()%uint64(len(s.labels))]
	n := s.served.Add(1)
	// About four characters a token, as a rough figure for the cost columns.
	in, out := promptChars/4+1, len(answer)/4+1
	resp := chatResponse{
		ID:      fmt.Sprintf("chatcmpl-bench-%d", n),
		Object:  "chat.completion",
		Created: time.Now().Unix(),
		Model:   req.Model,
		Choices: []choice{{Message: responseMessage{Role: "assistant", Content: answer}, FinishReason: "stop"}},
		Usage:   usage{PromptTokens: in, CompletionTokens: out, TotalTokens: in + out},
	}
	writeJSON(w, http.StatusOK, resp)
}

// contentText reads a message's content, which the API allows as a string
// or as a list of typed parts.
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(p.Text)
		}
		return b.String()
	}
	return string(raw)
}

func (s *server) models(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"object": "list",
		"data":   []map[string]any{{"id": "bench", "object": "model", "created": 0, "owned_by": "bench"}},
	})
}

func (s *server) stats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]int64{"served": s.served.Load(), "rejected": s.rejected.Load()})
}

func (s *server) fail(w http.ResponseWriter, status int, msg string) {
	s.rejected.Add(1)
	writeJSON(w, status, map[string]any{"error": map[string]string{"message": msg, "type": "invalid_request_error"}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
}
