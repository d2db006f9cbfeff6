package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
)

// alertRing keeps the newest alerts in a fixed buffer.
type alertRing struct {
	buf  []Alert
	next int // where the next alert goes
	n    int // how many are held
}

func (r *alertRing) add(a Alert) {
	if len(r.buf) == 0 {
		return
	}
	r.buf[r.next] = a
	r.next = (r.next + 1) % len(r.buf)
	r.n = min(r.n+1, len(r.buf))
}

// newest lists held alerts newest first, those of deployment only when it
// is set, at most limit (0: all).
func (r *alertRing) newest(deployment string, limit int) []Alert {
	out := []Alert{}
	for i := 1; i <= r.n; i++ {
		a := r.buf[(r.next-i+len(r.buf))%len(r.buf)]
		if deployment != "" && a.Deployment != deployment {
			continue
		}
		out = append(out, a)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out
}

// Alerts lists the alerts the monitor raised and resolved lately, newest
// first (see MonitorOptions.AlertHistory).
func (s *Server) Alerts(deployment string, limit int) []Alert {
	s.mon.mu.Lock()
	defer s.mon.mu.Unlock()
	return s.mon.history.newest(deployment, limit)
}

// Bucket is one step of a deployment's series. Rates and latencies are
// null where the bucket has no call to measure, quality where it has no
// scored call, so a chart shows a gap rather than a false zero.
type Bucket struct {
	Start     time.Time `json:"start"`
	Calls     int       `json:"calls"`
	Errors    int       `json:"errors"`
	ErrorRate *float64  `json:"error_rate"`
	P50MS     *float64  `json:"p50_ms"`
	P95MS     *float64  `json:"p95_ms"`
	Cost      float64   `json:"cost_usd"`
	Scored    int       `json:"scored"`
	Quality   *float64  `json:"quality"`
}

// maxBuckets bounds a series, so a typo such as bucket=1s over 30 days
// cannot ask for millions of points.
const maxBuckets = 2000

// Series cuts [since, until) into buckets of width step, starting at since
// rounded down to a multiple of step so repeated asks line up, and gives
// each the stats the alert rules use (Stats.tally over its traces).
func Series(ctx context.Context, store lab.ServingStore, d lab.Deployment, since, until time.Time, step time.Duration, primary string) ([]Bucket, error) {
	if step <= 0 {
		return nil, fmt.Errorf("bucket must be a positive duration")
	}
	if !since.Before(until) {
		return nil, fmt.Errorf("since (%s) must be before until (%s)", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	start := since.Truncate(step)
	span := until.Sub(start)
	n := int(span / step)
	if span%step != 0 {
		n++
	}
	if n > maxBuckets {
		return nil, fmt.Errorf("%s in buckets of %s is %d buckets, more than %d: use a wider bucket or a shorter span", until.Sub(start), step, n, maxBuckets)
	}
	ts, err := store.Traces(ctx, lab.TraceFilter{Deployment: d.Name, Since: start, Until: until})
	if err != nil {
		return nil, err
	}
	parts := make([][]lab.Trace, n)
	for _, t := range ts {
		if i := int(t.CreatedAt.Sub(start) / step); i >= 0 && i < n {
			parts[i] = append(parts[i], t)
		}
	}
	out := make([]Bucket, n)
	for i := range out {
		var st Stats
		st.tally(parts[i], primary)
		b := Bucket{Start: start.Add(time.Duration(i) * step).UTC(), Calls: st.Calls, Errors: st.Errors, Cost: st.Cost, Scored: st.Scored}
		if st.Calls > 0 {
			b.ErrorRate, b.P50MS, b.P95MS = &st.ErrorRate, &st.P50MS, &st.P95MS
		}
		if st.Scored > 0 {
			b.Quality = &st.Quality
		}
		out[i] = b
	}
	return out, nil
}

// Thresholds are the monitor's alert rules; null is a rule that is off.
type Thresholds struct {
	MinQuality   *float64 `json:"min_quality"`
	MaxP95MS     *float64 `json:"max_p95_ms"`
	MaxErrorRate *float64 `json:"max_error_rate"`
	// MinSamples is how many scored calls a window needs before quality
	// can alert.
	MinSamples int `json:"min_samples"`
}

func (m *monitor) thresholds() Thresholds {
	on := func(v float64) *float64 {
		if v > 0 {
			return &v
		}
		return nil
	}
	return Thresholds{MinQuality: on(m.opts.MinQuality), MaxP95MS: on(m.opts.MaxP95MS), MaxErrorRate: on(m.opts.MaxErrorRate),
		MinSamples: m.opts.MinSamples}
}

// adminSeries is GET /api/monitor/series?deployment=&since=24h&until=&bucket=1h.
func (s *Server) adminSeries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := q.Get("deployment")
	if name == "" {
		writeError(w, errBadRequest("deployment is required: name one (GET /api/deployments lists them)"))
		return
	}
	now := time.Now()
	get := func(k, def string) string {
		if v := q.Get(k); v != "" {
			return v
		}
		return def
	}
	since, err := when(get("since", "24h"), now)
	if err != nil {
		writeError(w, errBadRequest("since: %v", err))
		return
	}
	until := now
	if v := q.Get("until"); v != "" {
		if until, err = when(v, now); err != nil {
			writeError(w, errBadRequest("until: %v", err))
			return
		}
	}
	step, err := time.ParseDuration(get("bucket", "1h"))
	if err != nil || step < time.Second {
		writeError(w, errBadRequest("bucket %q is not a duration of a second or more, like 1h or 5m", q.Get("bucket")))
		return
	}
	d, err := s.opts.Store.Deployment(r.Context(), name)
	if failed(w, err, fmt.Sprintf("deployment %q (GET /api/deployments lists them)", name)) {
		return
	}
	buckets, err := Series(r.Context(), s.opts.Store, d, since, until, step, s.mon.opts.Primary)
	if err != nil {
		writeError(w, errBadRequest("%v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"deployment": name, "version": d.Version, "since": since.UTC(), "until": until.UTC(), "bucket": step.String(),
		"primary_scorer": s.mon.opts.Primary, "evaluated": d.Quality,
		"buckets": buckets, "thresholds": s.mon.thresholds(),
	})
}

// adminAlerts is GET /api/alerts?deployment=&limit=: the monitor's recent
// alerts, newest first.
func (s *Server) adminAlerts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, errBadRequest("limit %q is not a count", v))
			return
		}
		limit = n
	}
	writeJSON(w, http.StatusOK, s.Alerts(q.Get("deployment"), limit))
}
