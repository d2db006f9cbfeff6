package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
)

// MonitorOptions say what the monitor scores and when it alerts.
type MonitorOptions struct {
	// Sample is the share of live calls scored (0: none).
	Sample float64
	// Scorers judge a live answer without a reference (a judge model, a
	// JSON schema, the label set); Primary names the one quality is read
	// from.
	Scorers []lab.Scorer
	Primary string
	// Window is the span alerts look back over (default 1h); Interval how
	// often they are checked (default 1m).
	Window   time.Duration
	Interval time.Duration
	// Thresholds; zero disables a rule.
	MinQuality   float64
	MaxP95MS     float64
	MaxErrorRate float64
	// MinSamples is how many scored calls a quality alert needs (default 20).
	MinSamples int
	// Webhook receives each alert as a JSON POST.
	Webhook    string
	HTTPClient *http.Client
	// RetrainAfter is how many reviewed calls since the deployment was made
	// suggest a new tuning round (default 200).
	RetrainAfter int
	// AlertHistory is how many recent alerts (raised and resolved) the
	// monitor keeps for GET /api/alerts (default 200); older ones are
	// dropped, and the history starts empty with each process.
	AlertHistory int
}

// monitor scores a sample of live traffic and raises alerts.
type monitor struct {
	s    *Server
	opts MonitorOptions
	work chan lab.Trace
	stop chan struct{}
	wg   sync.WaitGroup

	mu      sync.Mutex
	firing  map[string]bool // deployment|rule -> alert currently raised
	history alertRing
}

func newMonitor(s *Server, o MonitorOptions) *monitor {
	if o.Window <= 0 {
		o.Window = time.Hour
	}
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if o.MinSamples <= 0 {
		o.MinSamples = 20
	}
	if o.RetrainAfter <= 0 {
		o.RetrainAfter = 200
	}
	if o.AlertHistory <= 0 {
		o.AlertHistory = 200
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Primary == "" && len(o.Scorers) > 0 {
		o.Primary = o.Scorers[0].Name()
	}
	return &monitor{s: s, opts: o, work: make(chan lab.Trace, 1024), stop: make(chan struct{}), firing: map[string]bool{},
		history: alertRing{buf: make([]Alert, o.AlertHistory)}}
}

// observe takes stored traces from the trace log and picks the sample.
func (m *monitor) observe(ts []lab.Trace) {
	if m.opts.Sample <= 0 || len(m.opts.Scorers) == 0 {
		return
	}
	for _, t := range ts {
		if t.Shadow || t.Error != "" || t.Endpoint == "embeddings" || rand.Float64() >= m.opts.Sample {
			continue
		}
		select {
		case m.work <- t:
		default: // scoring is behind; a sample may skip calls
		}
	}
}

func (m *monitor) start() {
	m.wg.Add(2)
	go func() {
		defer m.wg.Done()
		for {
			select {
			case t := <-m.work:
				m.score(t)
			case <-m.stop:
				return
			}
		}
	}()
	go func() {
		defer m.wg.Done()
		tick := time.NewTicker(m.opts.Interval)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				m.check(context.Background(), time.Now())
			case <-m.stop:
				return
			}
		}
	}()
}

func (m *monitor) close() {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	m.wg.Wait()
}

func (m *monitor) score(t lab.Trace) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	scores := map[string]lab.Score{}
	for _, sc := range m.opts.Scorers {
		v, err := sc.Score(ctx, lab.Example{ID: t.ID, Input: t.Input}, t.Answer)
		if err != nil {
			v = lab.Score{Reason: "scorer error: " + err.Error()}
		}
		scores[sc.Name()] = v
	}
	if err := m.s.opts.Store.SetTraceScores(ctx, t.ID, scores); err != nil {
		m.s.logger.Error("monitor: save scores", "trace", t.ID, "err", err)
	}
}

// Alert is what the webhook receives.
type Alert struct {
	Deployment string    `json:"deployment"`
	Rule       string    `json:"rule"` // quality, latency_p95_ms or error_rate
	Value      float64   `json:"value"`
	Threshold  float64   `json:"threshold"`
	Window     string    `json:"window"`
	Resolved   bool      `json:"resolved"`
	At         time.Time `json:"at"`
	Message    string    `json:"message"`
}

// check evaluates the alert rules for every deployment; an alert is sent
// when a rule starts failing and again when it recovers.
func (m *monitor) check(ctx context.Context, now time.Time) []Alert {
	deps, err := m.s.opts.Store.Deployments(ctx)
	if err != nil {
		m.s.logger.Error("monitor: list deployments", "err", err)
		return nil
	}
	var sent []Alert
	for _, d := range deps {
		st, err := WindowStats(ctx, m.s.opts.Store, d, now.Add(-m.opts.Window), now, m.opts.Primary)
		if err != nil {
			m.s.logger.Error("monitor: stats", "deployment", d.Name, "err", err)
			continue
		}
		if st.Scored > 0 {
			m.s.metrics.quality.WithLabelValues(d.Name).Set(st.Quality)
		}
		rules := []struct {
			name      string
			on        bool
			bad       bool
			value, th float64
		}{
			{"quality", m.opts.MinQuality > 0 && st.Scored >= m.opts.MinSamples, st.Quality < m.opts.MinQuality, st.Quality, m.opts.MinQuality},
			{"latency_p95_ms", m.opts.MaxP95MS > 0 && st.Calls > 0, st.P95MS > m.opts.MaxP95MS, st.P95MS, m.opts.MaxP95MS},
			{"error_rate", m.opts.MaxErrorRate > 0 && st.Calls > 0, st.ErrorRate > m.opts.MaxErrorRate, st.ErrorRate, m.opts.MaxErrorRate},
		}
		for _, r := range rules {
			if !r.on {
				continue
			}
			k := d.Name + "|" + r.name
			m.mu.Lock()
			was := m.firing[k]
			m.firing[k] = r.bad
			m.mu.Unlock()
			if was == r.bad {
				continue
			}
			a := Alert{Deployment: d.Name, Rule: r.name, Value: r.value, Threshold: r.th, Window: m.opts.Window.String(), Resolved: !r.bad, At: now}
			a.Message = fmt.Sprintf("%s %s: %.4g against a threshold of %.4g over the last %s", d.Name, r.name, r.value, r.th, a.Window)
			if a.Resolved {
				a.Message += " (resolved)"
			} else {
				m.s.metrics.alerts.WithLabelValues(d.Name, r.name).Inc()
			}
			m.mu.Lock()
			m.history.add(a)
			m.mu.Unlock()
			m.send(ctx, a)
			sent = append(sent, a)
		}
	}
	return sent
}

func (m *monitor) send(ctx context.Context, a Alert) {
	m.s.logger.Warn("alert", "deployment", a.Deployment, "rule", a.Rule, "value", a.Value, "threshold", a.Threshold, "resolved", a.Resolved)
	if m.opts.Webhook == "" {
		return
	}
	body, _ := json.Marshal(a) // a plain struct always encodes
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.opts.Webhook, bytes.NewReader(body))
	if err != nil {
		m.s.logger.Error("alert webhook", "err", err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := m.opts.HTTPClient.Do(req)
	if err != nil {
		m.s.logger.Error("alert webhook", "err", err)
		return
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		m.s.logger.Error("alert webhook", "status", resp.StatusCode)
	}
}

// Stats summarise a deployment's calls over a window.
type Stats struct {
	Deployment string  `json:"deployment"`
	Version    int     `json:"version"`
	Calls      int     `json:"calls"`
	Errors     int     `json:"errors"`
	ErrorRate  float64 `json:"error_rate"`
	P50MS      float64 `json:"p50_ms"`
	P95MS      float64 `json:"p95_ms"`
	Cost       float64 `json:"cost_usd"`
	// Scored calls and the share the monitor's primary scorer passed.
	Scored  int     `json:"scored"`
	Quality float64 `json:"quality"`
	// Reviewed calls, and the share reviewers accepted (a thumbs up, a
	// rating of 4 or 5, or a correction equal to the answer).
	Reviewed int     `json:"reviewed"`
	Accepted float64 `json:"accepted"`
	// Evaluated is the quality measured before deployment, for contrast.
	Evaluated *float64 `json:"evaluated,omitempty"`
	Retrain   string   `json:"retrain,omitempty"` // why a new tuning round is suggested
}

// WindowStats computes a deployment's stats from its traces in [since,
// until).
func WindowStats(ctx context.Context, store lab.ServingStore, d lab.Deployment, since, until time.Time, primary string) (Stats, error) {
	st := Stats{Deployment: d.Name, Version: d.Version, Evaluated: d.Quality}
	ts, err := store.Traces(ctx, lab.TraceFilter{Deployment: d.Name, Since: since, Until: until})
	if err != nil {
		return st, err
	}
	st.tally(ts, primary)
	reviewed, err := store.Traces(ctx, lab.TraceFilter{Deployment: d.Name, Since: since, Until: until, Reviewed: true})
	if err != nil {
		return st, err
	}
	ok := 0
	for _, t := range reviewed {
		fbs, err := store.Feedback(ctx, t.ID)
		if err != nil {
			return st, err
		}
		st.Reviewed++
		if Accepted(t, fbs) {
			ok++
		}
	}
	if st.Reviewed > 0 {
		st.Accepted = float64(ok) / float64(st.Reviewed)
	}
	return st, nil
}

// tally adds calls' counts, latency percentiles, cost and the share the
// primary scorer passed; the alert rules and the over-time series both
// read a window's traces through it.
func (st *Stats) tally(ts []lab.Trace, primary string) {
	var lat []float64
	pass := 0
	for _, t := range ts {
		st.Calls++
		st.Cost += t.Cost
		lat = append(lat, t.LatencyMS)
		if t.Error != "" {
			st.Errors++
		}
		if sc, ok := t.Scores[primary]; ok && primary != "" {
			st.Scored++
			if sc.Pass {
				pass++
			}
		}
	}
	if st.Calls > 0 {
		st.ErrorRate = float64(st.Errors) / float64(st.Calls)
		sort.Float64s(lat)
		st.P50MS, st.P95MS = percentile(lat, 0.50), percentile(lat, 0.95)
	}
	if st.Scored > 0 {
		st.Quality = float64(pass) / float64(st.Scored)
	}
}

// Accepted reads a trace's reviews: the newest review that says anything
// about correctness decides.
func Accepted(t lab.Trace, fbs []lab.Feedback) bool {
	for i := len(fbs) - 1; i >= 0; i-- {
		f := fbs[i]
		switch {
		case f.Correction != "":
			return strings.EqualFold(strings.TrimSpace(f.Correction), strings.TrimSpace(t.Answer))
		case f.Thumb != 0:
			return f.Thumb > 0
		case f.Rating != 0:
			return f.Rating >= 4
		}
	}
	return false
}

// SuggestRetrain says why a new tuning round is due, or "": enough
// reviewed calls since the deployment was made, or live acceptance well
// below what evaluation measured.
func SuggestRetrain(ctx context.Context, store lab.ServingStore, d lab.Deployment, now time.Time, after int) (string, error) {
	st, err := WindowStats(ctx, store, d, d.CreatedAt, now, "")
	if err != nil {
		return "", err
	}
	if after <= 0 {
		after = 200
	}
	switch {
	case st.Reviewed >= after:
		return fmt.Sprintf("%d calls were reviewed since v%d was deployed (threshold %d): capture them with `tunelab data capture` and tune again",
			st.Reviewed, d.Version, after), nil
	case d.Quality != nil && st.Reviewed >= 20 && st.Accepted < *d.Quality-0.1:
		return fmt.Sprintf("reviewers accepted %.0f%% of %d reviewed calls, against %.0f%% measured in evaluation: the live traffic has drifted from the test set",
			100*st.Accepted, st.Reviewed, 100**d.Quality), nil
	}
	return "", nil
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p*float64(len(sorted)-1) + 0.5)
	return sorted[min(i, len(sorted)-1)]
}
