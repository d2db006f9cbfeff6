package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
)

// TestSplitAndShadow sends 200 calls to a deployment that gives 30% of its
// traffic to a challenger and copies every call to a shadow.
func TestSplitAndShadow(t *testing.T) {
	// A short Refresh makes shadow calls and live ones re-check their
	// deployments while others read them, as a long-running server does.
	h := newHarness(t, Options{NoAuth: true, ShadowConcurrency: 200, Refresh: time.Millisecond})
	deployTo(t, h.store, h.up, "challenger", nil)
	deployTo(t, h.store, h.up, "shadow", nil)
	deployTo(t, h.store, h.up, "triage", func(d *lab.Deployment) {
		d.Split = []lab.Arm{{Deployment: "challenger", Weight: 0.3}}
		d.Shadow = "shadow"
	})
	user := []map[string]string{{"role": "user", "content": "refund"}}
	for range 200 {
		if status, out := h.post("/v1/chat/completions", "", map[string]any{"model": "triage", "messages": user}); status != 200 {
			t.Fatalf("status %d: %v", status, out)
		}
	}
	h.close()
	served := map[string]int{}
	for _, tr := range h.traces(lab.TraceFilter{Deployment: "triage"}) {
		served[tr.Served]++
	}
	// 200 draws at p=0.3: 60 expected; outside 30..90 has odds below 1e-6.
	if served["challenger"] < 30 || served["challenger"] > 90 || served["challenger"]+served["triage"] != 200 {
		t.Errorf("served by %v, want about 30%% challenger of 200", served)
	}
	shadows := 0
	for _, tr := range h.traces(lab.TraceFilter{Deployment: "triage", Shadow: true}) {
		if tr.Shadow {
			shadows++
			if tr.Served != "shadow" || tr.Answer != "billing" {
				t.Errorf("shadow trace %+v", tr)
			}
		}
	}
	if shadows != 200 {
		t.Errorf("%d shadow traces, want 200", shadows)
	}
}

func TestFeedback(t *testing.T) {
	h := newHarness(t, Options{})
	key := h.key("app", []string{"triage"}, 0)
	other := h.key("other", []string{"billing"}, 0)
	status, out := h.post("/v1/chat/completions", key, map[string]any{"model": "triage", "messages": []map[string]string{{"role": "user", "content": "refund"}}})
	if status != 200 {
		t.Fatal(status, out)
	}
	id := out["id"].(string)
	// Feedback needs the trace stored; the writer is asynchronous.
	waitFor(t, func() bool { _, err := h.store.Trace(context.Background(), id); return err == nil })
	tests := []struct {
		name   string
		key    string
		body   map[string]any
		status int
		msg    string
	}{
		{"thumbs down with a correction", key, map[string]any{"trace_id": id, "thumb": -1, "correction": "shipping", "reviewer": "ana"}, 201, ""},
		{"rating", key, map[string]any{"trace_id": id, "rating": 5}, 201, ""},
		{"nothing said", key, map[string]any{"trace_id": id}, 400, "at least one"},
		{"thumb out of range", key, map[string]any{"trace_id": id, "thumb": 2}, 400, "thumb must be"},
		{"rating out of range", key, map[string]any{"trace_id": id, "rating": 9}, 400, "rating must be"},
		{"unknown trace", key, map[string]any{"trace_id": "tr_nope", "thumb": 1}, 404, "no trace"},
		{"key that cannot see the trace", other, map[string]any{"trace_id": id, "thumb": 1}, 404, "no trace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, out := h.post("/v1/feedback", tc.key, tc.body)
			if status != tc.status {
				t.Fatalf("status %d (%v), want %d", status, out, tc.status)
			}
			if tc.msg != "" {
				msg, _ := out["error"].(map[string]any)["message"].(string)
				if !strings.Contains(msg, tc.msg) {
					t.Errorf("error %q, want %q", msg, tc.msg)
				}
			}
		})
	}
	fbs, err := h.store.Feedback(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if len(fbs) != 2 || fbs[0].Reviewer != "ana" || fbs[0].Correction != "shipping" || !strings.HasPrefix(fbs[1].Reviewer, "key:key_") {
		t.Errorf("feedback stored = %+v", fbs)
	}
	tr, _ := h.store.Trace(context.Background(), id)
	if Accepted(tr, fbs) != true { // the newest review (rating 5) decides
		t.Errorf("Accepted = false, want the rating of 5 to accept it")
	}
	if Accepted(tr, fbs[:1]) {
		t.Errorf("a correction that differs from the answer accepted it")
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// passIf is a reference-free scorer: it passes an answer equal to want.
type passIf struct{ want string }

func (passIf) Name() string { return "valid" }
func (p passIf) Score(_ context.Context, _ lab.Example, answer string) (lab.Score, error) {
	ok := answer == p.want
	v := 0.0
	if ok {
		v = 1
	}
	return lab.Score{Value: v, Pass: ok}, nil
}

// TestMonitorAlerts scores every call, sees quality fall under the
// threshold, and posts one alert to the webhook (not one per check).
func TestMonitorAlerts(t *testing.T) {
	var mu sync.Mutex
	var alerts []Alert
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var a Alert
		_ = json.NewDecoder(r.Body).Decode(&a)
		mu.Lock()
		alerts = append(alerts, a)
		mu.Unlock()
	}))
	defer hook.Close()
	h := newHarness(t, Options{NoAuth: true, Monitor: MonitorOptions{Sample: 1, Scorers: []lab.Scorer{passIf{"billing"}},
		MinQuality: 0.8, MinSamples: 4, MaxErrorRate: 0.5, Webhook: hook.URL, Window: time.Hour, Interval: time.Hour}})
	h.srv.mon.start()
	for _, msg := range []string{"refund", "parcel", "parcel", "refund", "parcel"} {
		if status, out := h.post("/v1/chat/completions", "", map[string]any{"model": "triage", "messages": []map[string]string{{"role": "user", "content": msg}}}); status != 200 {
			t.Fatal(status, out)
		}
	}
	waitFor(t, func() bool {
		ts := h.traces(lab.TraceFilter{})
		for _, tr := range ts {
			if tr.Scores == nil {
				return false
			}
		}
		return len(ts) == 5
	})
	now := time.Now()
	for range 2 {
		h.srv.mon.check(context.Background(), now)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(alerts) != 1 || alerts[0].Rule != "quality" || alerts[0].Value != 0.4 || alerts[0].Deployment != "triage" {
		t.Fatalf("alerts = %+v, want one quality alert at 0.4", alerts)
	}
	resp, err := http.Get(h.admin.URL + "/api/monitor")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var stats []Stats
	if err := json.NewDecoder(resp.Body).Decode(&stats); err != nil {
		t.Fatal(err)
	}
	if len(stats) != 1 || stats[0].Calls != 5 || stats[0].Scored != 5 || stats[0].Quality != 0.4 {
		t.Errorf("monitor stats = %+v", stats)
	}
	metrics, err := http.Get(h.admin.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	for _, want := range []string{
		`tunelab_gateway_requests_total{deployment="triage",endpoint="chat",status="200"} 5`,
		`tunelab_monitor_quality{deployment="triage"} 0.4`,
		`tunelab_monitor_alerts_total{deployment="triage",rule="quality"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestAdminToken(t *testing.T) {
	h := newHarness(t, Options{AdminToken: "s3cret"})
	tests := []struct {
		name, path, token string
		status            int
	}{
		{"no token", "/api/deployments", "", 401},
		{"wrong token", "/api/deployments", "nope", 401},
		{"right token", "/api/deployments", "s3cret", 200},
		{"health needs none", "/healthz", "", 200},
		{"metrics need it", "/metrics", "", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, h.admin.URL+tc.path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}
