package server

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
)

// seriesReply is GET /api/monitor/series as a client reads it.
type seriesReply struct {
	Buckets    []Bucket   `json:"buckets"`
	Thresholds Thresholds `json:"thresholds"`
	Primary    string     `json:"primary_scorer"`
}

// traceAt is a stored call: its latency, whether it failed, and the
// monitor's verdict on it (nil: not scored).
func traceAt(id string, at time.Time, latency float64, failed bool, pass *bool) lab.Trace {
	t := lab.Trace{ID: id, Deployment: "triage", Served: "triage", Version: 1, Endpoint: "chat", Input: "q", Answer: "billing",
		LatencyMS: latency, Cost: 0.001, Status: 200, CreatedAt: at}
	if failed {
		t.Status, t.Error = 502, "upstream failed"
	}
	if pass != nil {
		t.Scores = map[string]lab.Score{"valid": {Pass: *pass}}
	}
	return t
}

func TestMonitorSeries(t *testing.T) {
	h := newHarness(t, Options{NoAuth: true, Monitor: MonitorOptions{Sample: 1, Scorers: []lab.Scorer{passIf{"billing"}},
		MinQuality: 0.8, MaxP95MS: 500}})
	yes, no := true, false
	t0 := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	traces := []lab.Trace{
		// 10:00-11:00: four calls, one failed, two scored (one passed).
		traceAt("a1", t0.Add(5*time.Minute), 100, false, &yes),
		traceAt("a2", t0.Add(10*time.Minute), 200, false, &no),
		traceAt("a3", t0.Add(20*time.Minute), 300, false, nil),
		traceAt("a4", t0.Add(50*time.Minute), 900, true, nil),
		// 11:00-12:00: nothing. 12:00-13:00: one scored pass.
		traceAt("c1", t0.Add(150*time.Minute), 50, false, &yes),
		// Outside the span asked for.
		traceAt("z1", t0.Add(-time.Minute), 10, false, &yes),
		traceAt("z2", t0.Add(3*time.Hour), 10, false, &yes),
	}
	shadow := traceAt("s1", t0.Add(6*time.Minute), 10, false, &yes)
	shadow.Shadow = true
	if err := h.store.SaveTraces(context.Background(), append(traces, shadow)); err != nil {
		t.Fatal(err)
	}
	span := url.Values{"deployment": {"triage"}, "since": {t0.Add(10 * time.Second).Format(time.RFC3339)},
		"until": {t0.Add(3 * time.Hour).Format(time.RFC3339)}, "bucket": {"1h"}}
	var got seriesReply
	if st := h.adminJSON("GET", "/api/monitor/series?"+span.Encode(), nil, &got); st != 200 {
		t.Fatalf("series: %d", st)
	}
	f := func(v float64) *float64 { return &v }
	want := []Bucket{
		{Start: t0, Calls: 4, Errors: 1, ErrorRate: f(0.25), P50MS: f(300), P95MS: f(900), Cost: 0.004, Scored: 2, Quality: f(0.5)},
		{Start: t0.Add(time.Hour)},
		{Start: t0.Add(2 * time.Hour), Calls: 1, ErrorRate: f(0), P50MS: f(50), P95MS: f(50), Cost: 0.001, Scored: 1, Quality: f(1)},
	}
	if len(got.Buckets) != len(want) {
		t.Fatalf("%d buckets, want %d: %+v", len(got.Buckets), len(want), got.Buckets)
	}
	for i, w := range want {
		if g := got.Buckets[i]; describeBucket(g) != describeBucket(w) {
			t.Errorf("bucket %d = %s, want %s", i, describeBucket(g), describeBucket(w))
		}
	}
	th := got.Thresholds
	if th.MinQuality == nil || *th.MinQuality != 0.8 || th.MaxP95MS == nil || *th.MaxP95MS != 500 || th.MaxErrorRate != nil || got.Primary != "valid" {
		t.Errorf("thresholds %+v primary %q, want min_quality 0.8, max_p95_ms 500, no error-rate rule, primary valid", th, got.Primary)
	}

	for _, tc := range []struct {
		name   string
		query  string
		status int
		msg    string
	}{
		{"no deployment", "since=24h", 400, "deployment is required"},
		{"unknown deployment", "deployment=nope", 404, `no deployment "nope"`},
		{"bad bucket", "deployment=triage&bucket=often", 400, "bucket"},
		{"bucket under a second", "deployment=triage&bucket=10ms", 400, "a second or more"},
		{"too many buckets", "deployment=triage&since=720h&bucket=1m", 400, "wider bucket"},
		{"bad since", "deployment=triage&since=yesterday", 400, "since"},
		{"since after until", "deployment=triage&since=1h&until=2h", 400, "must be before"},
		{"defaults", "deployment=triage", 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var e struct {
				Error   apiError `json:"error"`
				Buckets []Bucket `json:"buckets"`
			}
			st := h.adminJSON("GET", "/api/monitor/series?"+tc.query, nil, &e)
			if st != tc.status || !strings.Contains(e.Error.Message, tc.msg) {
				t.Errorf("status %d %q, want %d containing %q", st, e.Error.Message, tc.status, tc.msg)
			}
			if tc.status == 200 && (len(e.Buckets) < 24 || len(e.Buckets) > 25) {
				t.Errorf("default series has %d buckets, want a day of hours", len(e.Buckets))
			}
		})
	}
}

func describeBucket(b Bucket) string {
	p := func(v *float64) string {
		if v == nil {
			return "null"
		}
		return fmt.Sprintf("%.4g", *v)
	}
	return fmt.Sprintf("{%s calls=%d errors=%d rate=%s p50=%s p95=%s cost=%.4g scored=%d quality=%s}", b.Start.UTC().Format(time.RFC3339),
		b.Calls, b.Errors, p(b.ErrorRate), p(b.P50MS), p(b.P95MS), b.Cost, b.Scored, p(b.Quality))
}

// TestAlertHistory raises an alert, resolves it, and reads both back
// newest first.
func TestAlertHistory(t *testing.T) {
	h := newHarness(t, Options{NoAuth: true, Monitor: MonitorOptions{Sample: 1, Scorers: []lab.Scorer{passIf{"billing"}},
		MaxP95MS: 500, MaxErrorRate: 0.5, Window: time.Hour, Interval: time.Hour}})
	t0 := time.Now().Add(-5 * time.Hour).Truncate(time.Minute)
	if err := h.store.SaveTraces(context.Background(), []lab.Trace{
		traceAt("slow", t0.Add(-10*time.Minute), 900, false, nil), // only the first window
		traceAt("fast", t0.Add(2*time.Hour-10*time.Minute), 100, false, nil),
	}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	h.srv.mon.check(ctx, t0)                  // slow: the latency rule fires
	h.srv.mon.check(ctx, t0.Add(time.Minute)) // still slow: nothing new
	h.srv.mon.check(ctx, t0.Add(2*time.Hour)) // fast: it recovers
	for _, tc := range []struct {
		name   string
		query  string
		status int
		want   []string // rule/resolved, newest first
	}{
		{"all", "", 200, []string{"latency_p95_ms/true", "latency_p95_ms/false"}},
		{"one deployment", "?deployment=triage", 200, []string{"latency_p95_ms/true", "latency_p95_ms/false"}},
		{"another deployment", "?deployment=other", 200, []string{}},
		{"limit", "?limit=1", 200, []string{"latency_p95_ms/true"}},
		{"bad limit", "?limit=-2", 400, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []Alert
			var into any = &got
			if tc.status != 200 {
				into = nil
			}
			if st := h.adminJSON("GET", "/api/alerts"+tc.query, nil, into); st != tc.status {
				t.Fatalf("status %d, want %d", st, tc.status)
			}
			if tc.status != 200 {
				return
			}
			var rules []string
			for _, a := range got {
				rules = append(rules, fmt.Sprintf("%s/%v", a.Rule, a.Resolved))
			}
			if strings.Join(rules, ",") != strings.Join(tc.want, ",") || got == nil {
				t.Errorf("alerts %v, want %v", rules, tc.want)
			}
		})
	}
	first := h.srv.Alerts("triage", 0)
	if len(first) != 2 || first[1].Value != 900 || first[1].Threshold != 500 || !first[1].At.Equal(t0) {
		t.Errorf("the raised alert = %+v, want p95 900 against 500 at %s", first, t0)
	}
}

func TestAlertRing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		size  int
		add   int
		limit int
		want  string
	}{
		{"empty", 3, 0, 0, ""},
		{"under capacity", 3, 2, 0, "2,1"},
		{"wraps, dropping the oldest", 3, 5, 0, "5,4,3"},
		{"limit", 3, 5, 2, "5,4"},
		{"no room", 0, 2, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := alertRing{buf: make([]Alert, tc.size)}
			for i := 1; i <= tc.add; i++ {
				r.add(Alert{Deployment: "d", Value: float64(i)})
			}
			var got []string
			for _, a := range r.newest("d", tc.limit) {
				got = append(got, fmt.Sprint(a.Value))
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("newest = %v, want %s", got, tc.want)
			}
		})
	}
}
