// Package openaitest is a fake of the OpenAI fine-tuning API for tests: an
// httptest server that speaks the real wire format (multipart file
// uploads, the fine_tuning.job and fine_tuning.job.event objects, list
// pages, OpenAI's error bodies) and checks what it receives as the real
// API does. Jobs advance one deterministic step each time they are read,
// so a client polling in a loop sees validating_files, queued, running
// with a metrics event per step, and then succeeded (or failed).
package openaitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// DefaultKey is the bearer token the server accepts unless WithKey says
// otherwise.
const DefaultKey = "sk-test-finetune"

// Server is a running fake. URL ends in /v1, like OpenAI's base URL.
type Server struct {
	URL string

	mu       sync.Mutex
	cfg      config
	seq      int // makes ids and timestamps deterministic
	files    map[string]*file
	jobs     map[string]*job
	order    []string // job ids in creation order
	requests map[string]int
	creates  []map[string]any
}

type config struct {
	key      string
	steps    int
	failAt   int // step after which jobs fail; 0 never
	failCode string
	failMsg  string
	models   map[string]bool // nil accepts any base model
	org      string
}

// Option changes how the fake behaves.
type Option func(*config)

// WithKey sets the only bearer token accepted (DefaultKey otherwise).
func WithKey(key string) Option { return func(c *config) { c.key = key } }

// WithSteps sets how many training steps (metrics events) a job runs; 3
// by default.
func WithSteps(n int) Option { return func(c *config) { c.steps = n } }

// FailAt makes every job fail after training step step (0 = while
// validating files) with the given error code and message, as the real
// API reports a job that broke.
func FailAt(step int, code, message string) Option {
	return func(c *config) { c.failAt, c.failCode, c.failMsg = step+1, code, message }
}

// WithModels restricts the base models jobs may name; by default any
// non-empty name is accepted.
func WithModels(models ...string) Option {
	return func(c *config) {
		c.models = map[string]bool{}
		for _, m := range models {
			c.models[m] = true
		}
	}
}

// New starts a fake; it is closed when the test ends.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{
		cfg:      config{key: DefaultKey, steps: 3, org: "org-tunelab"},
		files:    map[string]*file{},
		jobs:     map[string]*job{},
		requests: map[string]int{},
	}
	for _, o := range opts {
		o(&s.cfg)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/files", s.uploadFile)
	mux.HandleFunc("DELETE /v1/files/{id}", s.deleteFile)
	mux.HandleFunc("POST /v1/fine_tuning/jobs", s.createJob)
	mux.HandleFunc("GET /v1/fine_tuning/jobs/{id}", s.getJob)
	mux.HandleFunc("GET /v1/fine_tuning/jobs/{id}/events", s.listEvents)
	mux.HandleFunc("POST /v1/fine_tuning/jobs/{id}/cancel", s.cancelJob)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		apiError(w, 404, "invalid_request_error", "", nil, fmt.Sprintf("Invalid URL (%s %s)", r.Method, r.URL.Path))
	})
	srv := httptest.NewServer(s.authenticate(mux))
	t.Cleanup(srv.Close)
	s.URL = srv.URL + "/v1"
	return s
}

// Requests reports how many requests reached a route, named as
// "METHOD /path" with {id} for ids, e.g. "GET /fine_tuning/jobs/{id}";
// requests refused for a bad key are counted under "unauthorized".
func (s *Server) Requests(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[route]
}

// JobRequests returns the decoded bodies of every job creation request,
// accepted or not, for assertions on what a client sent.
func (s *Server) JobRequests() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.creates...)
}

// Files returns the ids of the files stored now (deleted ones are gone).
func (s *Server) Files() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []string
	for id := range s.files {
		ids = append(ids, id)
	}
	return ids
}

func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "Bearer ") || strings.TrimPrefix(auth, "Bearer ") != s.cfg.key {
			s.count("unauthorized")
			msg := "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
			if strings.HasPrefix(auth, "Bearer ") {
				msg = "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
			}
			apiError(w, 401, "invalid_request_error", "", "invalid_api_key", msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) count(route string) {
	s.mu.Lock()
	s.requests[route]++
	s.mu.Unlock()
}

// next returns a fresh sequence number; callers hold s.mu.
func (s *Server) next() int {
	s.seq++
	return s.seq
}

// clock is the fake's time: one second per event, from a fixed start.
func (s *Server) clock() int64 { return 1700000000 + int64(s.seq) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("x-request-id", "req_fake")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError writes OpenAI's error body; code and param are null unless
// given.
func apiError(w http.ResponseWriter, status int, typ, param string, code any, message string) {
	var p any
	if param != "" {
		p = param
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"message": message, "type": typ, "param": p, "code": code,
	}})
}
