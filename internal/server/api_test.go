package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/example"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/workspace"
)

// labHarness serves the example lab's API, its model swapped for the
// upstream fake so the playground answers at once.
func labHarness(t *testing.T) (*harness, string) {
	dir := filepath.Join(t.TempDir(), "lab")
	if _, err := example.Write(dir); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, Options{NoAuth: true})
	cfgPath := filepath.Join(dir, "tunelab.yaml")
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	model := "openai-compatible:" + h.up.URL + "/v1#tiny"
	cfg := strings.Replace(string(raw), "  - local:base\n", "  - "+model+"\n", 1)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	h.srv.opts.Lab = &LabAPI{ConfigPath: cfgPath, Open: func(ctx context.Context) (*workspace.Workspace, error) {
		return workspace.Open(ctx, cfgPath, workspace.Options{Store: h.store})
	}}
	h.admin.Close()
	h.admin = httptest.NewServer(h.srv.Admin())
	return h, model
}

func (h *harness) adminJSON(method, path string, body any, into any) int {
	h.t.Helper()
	var rd *strings.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	} else {
		rd = strings.NewReader("")
	}
	req, _ := http.NewRequest(method, h.admin.URL+path, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	if into != nil {
		if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
			h.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

func TestLabAPI(t *testing.T) {
	h, model := labHarness(t)
	var info labInfo
	if st := h.adminJSON("GET", "/api/lab", nil, &info); st != 200 {
		t.Fatalf("GET /api/lab: %d", st)
	}
	if info.Name != "ticket-routing" || info.Splits["test"] != 88 || len(info.Candidates) != 7 || info.Primary != "label" {
		t.Errorf("lab = %+v", info)
	}

	var cases struct {
		Total int `json:"total"`
		Rows  []struct {
			ID, Input, Expected string
		} `json:"rows"`
	}
	if st := h.adminJSON("GET", "/api/cases?split=test&q=invoice&limit=3", nil, &cases); st != 200 || len(cases.Rows) != 3 || cases.Total < 3 {
		t.Fatalf("cases: %d %+v", st, cases)
	}
	for _, r := range cases.Rows {
		if !strings.Contains(strings.ToLower(r.Input+r.Expected), "invoice") {
			t.Errorf("search for invoice returned %+v", r)
		}
	}

	var play struct {
		Results []playgroundResult `json:"results"`
	}
	body := map[string]any{
		"candidates": []map[string]any{
			{"id": info.Candidates[0].ID},
			{"model": model, "variant": map[string]any{"name": "blunt", "instructions": "Queue?", "template": "{{.Input}}"}},
		},
		"case_ids": []string{cases.Rows[0].ID},
	}
	if st := h.adminJSON("POST", "/api/playground", body, &play); st != 200 || len(play.Results) != 2 {
		t.Fatalf("playground: %d %+v", st, play)
	}
	for _, r := range play.Results {
		if r.Error != "" || r.Output == "" || r.Pass == nil || len(r.Messages) == 0 || r.Expected != cases.Rows[0].Expected {
			t.Errorf("playground result = %+v", r)
		}
	}
	if u, _ := h.up.lastUser.Load().(string); !strings.HasPrefix(u, "Queue?") {
		t.Errorf("the edited variant did not reach the model: %q", u)
	}

	tests := []struct {
		name   string
		body   any
		status int
	}{
		{"save", map[string]any{"variant": map[string]any{"name": "blunt", "instructions": "Queue?"}}, 201},
		{"save again", map[string]any{"variant": map[string]any{"name": "blunt", "instructions": "Queue?"}}, 409},
		{"nameless", map[string]any{"variant": map[string]any{"instructions": "Queue?"}}, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if st := h.adminJSON("POST", "/api/prompts", tc.body, nil); st != tc.status {
				t.Errorf("status %d, want %d", st, tc.status)
			}
		})
	}
	if st := h.adminJSON("GET", "/api/lab", nil, &info); st != 200 || len(info.Candidates) != 8 {
		t.Errorf("after saving a prompt: %d candidates, want 8", len(info.Candidates))
	}
	bad := map[string]any{"candidates": []map[string]any{{"id": "nope/zero-shot"}}, "input": "hi"}
	var e struct {
		Error apiError `json:"error"`
	}
	if st := h.adminJSON("POST", "/api/playground", bad, &e); st != 400 || !strings.Contains(e.Error.Message, "no candidate") {
		t.Errorf("unknown candidate: %d %q", st, e.Error.Message)
	}
	var rendered struct {
		Messages []provider.Message `json:"messages"`
	}
	calls := h.up.calls.Load()
	renderReq := map[string]string{"candidate": info.Candidates[1].ID, "case_id": cases.Rows[0].ID}
	if st := h.adminJSON("POST", "/api/render", renderReq, &rendered); st != 200 || len(rendered.Messages) == 0 ||
		!strings.Contains(rendered.Messages[len(rendered.Messages)-1].Content, cases.Rows[0].Input) {
		t.Errorf("render: %d %+v", st, rendered)
	}
	if st := h.adminJSON("POST", "/api/render", map[string]string{"candidate": info.Candidates[1].ID, "case_id": "nope"}, nil); st != 400 {
		t.Errorf("render of an unknown case: %d, want 400", st)
	}
	if h.up.calls.Load() != calls {
		t.Errorf("render called the model")
	}
	// Reviewed traces become a dataset file in the lab.
	ctx := context.Background()
	tr := lab.Trace{ID: "tr_cap", Deployment: "triage", Served: "triage", Version: 1, Input: "my parcel is lost",
		Answer: "billing_refund", Status: 200, CreatedAt: time.Now()}
	if err := h.store.SaveTraces(ctx, []lab.Trace{tr}); err != nil {
		t.Fatal(err)
	}
	var capErr struct {
		Error apiError `json:"error"`
	}
	if st := h.adminJSON("POST", "/api/capture", map[string]string{"deployment": "triage"}, &capErr); st != 422 {
		t.Errorf("capture before any review: %d %q, want 422", st, capErr.Error.Message)
	}
	if err := h.store.SaveFeedback(ctx, lab.Feedback{ID: "fb1", TraceID: "tr_cap", Reviewer: "ana", Thumb: -1,
		Correction: "shipping_delay", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var captured Captured
	if st := h.adminJSON("POST", "/api/capture", map[string]string{"deployment": "triage", "since": "1h"}, &captured); st != 201 || captured.Examples != 1 {
		t.Fatalf("capture: %d %+v", st, captured)
	}
	row, err := os.ReadFile(filepath.Join(filepath.Dir(h.srv.opts.Lab.ConfigPath), captured.Path))
	if err != nil || !strings.Contains(string(row), `"expected":"shipping_delay"`) {
		t.Errorf("captured file %s: %v %s", captured.Path, err, row)
	}

	var runs []json.RawMessage
	if st := h.adminJSON("GET", "/api/runs", nil, &runs); st != 200 || len(runs) != 0 {
		t.Errorf("runs: %d %d", st, len(runs))
	}
	var ladder map[string]any
	if st := h.adminJSON("GET", "/api/ladder", nil, &ladder); st != 200 || ladder["state"] != "idle" {
		t.Errorf("ladder: %d %v", st, ladder)
	}
}
