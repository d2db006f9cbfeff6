package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/provider"
	_ "github.com/tunelab/tunelab/internal/provider/openai"
	"github.com/tunelab/tunelab/internal/store/sqlite"
)

// upstream is a model server speaking OpenAI's chat format: it answers
// "billing" when the last user turn mentions a refund, else "shipping",
// and remembers the last prompt it was sent.
type upstream struct {
	*httptest.Server
	calls      atomic.Int64
	lastSystem atomic.Value
	lastUser   atomic.Value
}

func newUpstream(t testing.TB) *upstream {
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.calls.Add(1)
		var req struct {
			Model    string `json:"model"`
			Stream   bool   `json:"stream"`
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		answer := "shipping"
		for _, m := range req.Messages {
			switch m.Role {
			case "system":
				u.lastSystem.Store(m.Content)
			case "user":
				u.lastUser.Store(m.Content)
				answer = "shipping"
				if strings.Contains(strings.ToLower(m.Content), "refund") {
					answer = "billing"
				}
			}
		}
		if req.Stream {
			w.Header().Set("Content-Type", "text/event-stream")
			for i, piece := range []string{answer[:3], answer[3:]} {
				role := ""
				if i == 0 {
					role = `"role":"assistant",`
				}
				fmt.Fprintf(w, "data: {\"id\":\"up\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{%s\"content\":%q},\"finish_reason\":null}]}\n\n", req.Model, role, piece)
			}
			fmt.Fprintf(w, "data: {\"id\":\"up\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":%q,\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":30,\"completion_tokens\":2,\"total_tokens\":32}}\n\n", req.Model)
			fmt.Fprint(w, "data: [DONE]\n\n")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"up","object":"chat.completion","created":1,"model":%q,"choices":[{"index":0,"message":{"role":"assistant","content":%q},"finish_reason":"stop"}],"usage":{"prompt_tokens":30,"completion_tokens":2,"total_tokens":32}}`, req.Model, answer)
	}))
	t.Cleanup(u.Close)
	return u
}

var testTask = lab.Task{Name: "triage", Output: lab.OutputLabel, Labels: []string{"billing", "shipping"},
	Description: "Route a customer's message."}

// resolveWith makes deployments runnable against real providers, as the
// workspace does, without a lab on disk.
func resolveWith(t testing.TB) func(lab.Deployment) (eval.Target, error) {
	return func(d lab.Deployment) (eval.Target, error) {
		ref, err := provider.ParseRef(d.Candidate.Model)
		if err != nil {
			return eval.Target{}, err
		}
		p, err := provider.New(provider.Config{Ref: ref, Timeout: 10 * time.Second})
		if err != nil {
			return eval.Target{}, err
		}
		b, err := prompt.NewBuilder(d.Task, d.Candidate.Variant, d.Demos)
		if err != nil {
			return eval.Target{}, err
		}
		return eval.Target{Candidate: d.Candidate, Builder: b, Provider: p,
			Price: func(in, out int, _ time.Duration) float64 { return float64(in+out) * 1e-6 }}, nil
	}
}

type harness struct {
	t      testing.TB
	store  *sqlite.Store
	up     *upstream
	srv    *Server
	public *httptest.Server
	admin  *httptest.Server
	dir    string
	closed bool
}

func deployTo(t testing.TB, st lab.Store, up *upstream, name string, mutate func(*lab.Deployment)) lab.Deployment {
	t.Helper()
	d := lab.Deployment{Name: name, Lab: "triage", Task: testTask, Candidate: lab.Candidate{
		ID: "m/instructions", Model: "openai-compatible:" + up.URL + "/v1#tiny",
		Variant: lab.Variant{Name: "instructions", System: "You route messages for " + name + ".", Instructions: "Reply with the queue name."},
		Params:  lab.Params{MaxTokens: 16},
	}}
	d.Candidate.Variant = prompt.Expand(d.Candidate.Variant, d.Task)
	if mutate != nil {
		mutate(&d)
	}
	d, err := st.SaveDeployment(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newHarness(t testing.TB, opts Options) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), up: newUpstream(t)}
	var err error
	h.store, err = sqlite.Open(context.Background(), filepath.Join(h.dir, "lab.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.store.Close() })
	deployTo(t, h.store, h.up, "triage", nil)
	opts.Store = h.store
	if opts.Resolve == nil {
		opts.Resolve = resolveWith(t)
	}
	if opts.TraceDir == "" {
		opts.TraceDir = filepath.Join(h.dir, "traces")
	}
	h.srv, err = New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	h.public = httptest.NewServer(h.srv.Public())
	h.admin = httptest.NewServer(h.srv.Admin())
	t.Cleanup(h.close)
	return h
}

// close stops the listeners and flushes every trace into the store.
func (h *harness) close() {
	if h.closed {
		return
	}
	h.closed = true
	h.public.Close()
	h.admin.Close()
	if err := h.srv.Close(); err != nil {
		h.t.Errorf("server Close: %v", err)
	}
}

func (h *harness) key(name string, deployments []string, rpm int) string {
	h.t.Helper()
	secret, k := NewKey(name, deployments, rpm, time.Now())
	if err := h.store.SaveKey(context.Background(), k); err != nil {
		h.t.Fatal(err)
	}
	return secret
}

// post sends a JSON body to the public surface and decodes the reply.
func (h *harness) post(path, key string, body any) (int, map[string]any) {
	h.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, h.public.URL+path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (h *harness) traces(f lab.TraceFilter) []lab.Trace {
	h.t.Helper()
	ts, err := h.store.Traces(context.Background(), f)
	if err != nil {
		h.t.Fatal(err)
	}
	return ts
}
