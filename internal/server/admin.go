package server

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tunelab/tunelab/internal/lab"
)

// Admin is the surface operators and the UI use: metrics, deployments,
// traces, feedback, keys and the monitor. It is a separate handler so it
// can listen where the public cannot reach.
func (s *Server) Admin() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("GET /api/deployments", s.adminDeployments)
	mux.HandleFunc("GET /api/traces", s.adminTraces)
	mux.HandleFunc("GET /api/traces/{id}", s.adminTrace)
	mux.HandleFunc("POST /api/traces/{id}/feedback", s.adminFeedback)
	mux.HandleFunc("GET /api/monitor", s.adminMonitor)
	mux.HandleFunc("GET /api/monitor/series", s.adminSeries)
	mux.HandleFunc("GET /api/alerts", s.adminAlerts)
	s.routeLab(mux)
	if s.opts.UI != nil {
		mux.Handle("GET /", uiHandler(s.opts.UI))
	}
	if s.opts.AdminToken == "" {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		// The UI's own files hold no data; what they fetch is guarded.
		guarded := strings.HasPrefix(r.URL.Path, "/api/") || r.URL.Path == "/metrics"
		if guarded && subtle.ConstantTimeCompare([]byte(got), []byte(s.opts.AdminToken)) != 1 {
			writeError(w, &apiError{Status: http.StatusUnauthorized, Type: "invalid_request_error", Message: "admin token required"})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

func (s *Server) adminDeployments(w http.ResponseWriter, r *http.Request) {
	deps, err := s.opts.Store.Deployments(r.Context())
	if err != nil {
		writeError(w, internal(err))
		return
	}
	writeJSON(w, http.StatusOK, deps)
}

func internal(err error) *apiError {
	return &apiError{Status: http.StatusInternalServerError, Type: "server_error", Message: err.Error()}
}

// failed writes err, if any: a 404 naming what when it is lab.ErrNotFound
// (what empty: nothing is looked up by name), else a 500.
func failed(w http.ResponseWriter, err error, what string) bool {
	switch {
	case err == nil:
		return false
	case what != "" && errors.Is(err, lab.ErrNotFound):
		writeError(w, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Message: "no " + what})
	default:
		writeError(w, internal(err))
	}
	return true
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

// TraceQuery reads a trace filter from URL parameters: deployment, since
// and until (RFC 3339 or a duration back from now, like 24h), errors,
// reviewed, shadow and limit.
func TraceQuery(q map[string][]string, now time.Time) (lab.TraceFilter, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	f := lab.TraceFilter{Deployment: get("deployment"), ErrorsOnly: get("errors") == "1" || get("errors") == "true",
		Reviewed: get("reviewed") == "1" || get("reviewed") == "true", Shadow: get("shadow") == "1" || get("shadow") == "true", Limit: 100}
	var err error
	if f.Since, err = when(get("since"), now); err != nil {
		return f, fmt.Errorf("since: %w", err)
	}
	if f.Until, err = when(get("until"), now); err != nil {
		return f, fmt.Errorf("until: %w", err)
	}
	if l := get("limit"); l != "" {
		if f.Limit, err = strconv.Atoi(l); err != nil || f.Limit < 0 {
			return f, fmt.Errorf("limit %q is not a count", l)
		}
	}
	return f, nil
}

// when reads a time: RFC 3339, or a duration back from now.
func when(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return t, fmt.Errorf("%q is neither an RFC 3339 time nor a duration like 24h", s)
	}
	return t, nil
}

func (s *Server) adminTraces(w http.ResponseWriter, r *http.Request) {
	f, err := TraceQuery(r.URL.Query(), time.Now())
	if err != nil {
		writeError(w, errBadRequest("%v", err))
		return
	}
	ts, err := s.opts.Store.Traces(r.Context(), f)
	if failed(w, err, "") {
		return
	}
	writeJSON(w, http.StatusOK, nonNil(ts))
}

func (s *Server) adminTrace(w http.ResponseWriter, r *http.Request) {
	t, err := s.opts.Store.Trace(r.Context(), r.PathValue("id"))
	if failed(w, err, "trace "+r.PathValue("id")) {
		return
	}
	fbs, err := s.opts.Store.Feedback(r.Context(), t.ID)
	if failed(w, err, "") {
		return
	}
	writeJSON(w, http.StatusOK, struct {
		lab.Trace
		Feedback []lab.Feedback `json:"feedback"`
	}{t, nonNil(fbs)})
}

// feedbackRequest is a review as clients send it.
type feedbackRequest struct {
	TraceID    string `json:"trace_id"`
	Reviewer   string `json:"reviewer"`
	Thumb      int    `json:"thumb"`
	Rating     int    `json:"rating"`
	Correction string `json:"correction"`
	Comment    string `json:"comment"`
}

// check validates a review; it names the field at fault.
func (f feedbackRequest) check() error {
	switch {
	case f.Thumb < -1 || f.Thumb > 1:
		return fmt.Errorf("thumb must be 1 (up), -1 (down) or left out, not %d", f.Thumb)
	case f.Rating < 0 || f.Rating > 5:
		return fmt.Errorf("rating must be 1 to 5 or left out, not %d", f.Rating)
	case f.Thumb == 0 && f.Rating == 0 && strings.TrimSpace(f.Correction) == "" && strings.TrimSpace(f.Comment) == "":
		return errors.New("give at least one of thumb, rating, correction or comment")
	case len(f.Correction) > 64<<10 || len(f.Comment) > 64<<10:
		return errors.New("correction and comment are limited to 64 KiB")
	}
	return nil
}

func (s *Server) saveFeedback(w http.ResponseWriter, r *http.Request, f feedbackRequest, key *lab.APIKey) {
	if err := f.check(); err != nil {
		writeError(w, errBadRequest("%v", err))
		return
	}
	t, err := s.opts.Store.Trace(r.Context(), f.TraceID)
	if errors.Is(err, lab.ErrNotFound) || (err == nil && key != nil && !key.Allows(t.Deployment)) {
		// A key that may not see the trace learns nothing about it.
		writeError(w, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error",
			Message: fmt.Sprintf("no trace %q (a trace is stored a moment after its call is answered; retry shortly)", f.TraceID)})
		return
	}
	if err != nil {
		writeError(w, internal(err))
		return
	}
	fb := lab.Feedback{ID: "fb_" + randomID(16), TraceID: f.TraceID, Reviewer: strings.TrimSpace(f.Reviewer), Thumb: f.Thumb,
		Rating: f.Rating, Correction: f.Correction, Comment: f.Comment, CreatedAt: time.Now()}
	if fb.Reviewer == "" && key != nil {
		fb.Reviewer = "key:" + key.ID
	}
	if err := s.opts.Store.SaveFeedback(r.Context(), fb); err != nil {
		writeError(w, internal(err))
		return
	}
	writeJSON(w, http.StatusCreated, fb)
}

func (s *Server) handlePublicFeedback(w http.ResponseWriter, r *http.Request) {
	var f feedbackRequest
	key, ok := s.gate(w, r, &f)
	if !ok {
		return
	}
	s.saveFeedback(w, r, f, &key)
}

func (s *Server) adminFeedback(w http.ResponseWriter, r *http.Request) {
	var f feedbackRequest
	if !s.decodeBody(w, r, &f) {
		return
	}
	f.TraceID = r.PathValue("id")
	if strings.TrimSpace(f.Reviewer) == "" {
		writeError(w, errBadRequest("reviewer is required: say who reviewed the call"))
		return
	}
	s.saveFeedback(w, r, f, nil)
}

func (s *Server) adminMonitor(w http.ResponseWriter, r *http.Request) {
	window := s.mon.opts.Window
	if v := r.URL.Query().Get("window"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			writeError(w, errBadRequest("window %q is not a duration like 1h", v))
			return
		}
		window = d
	}
	deps, err := s.opts.Store.Deployments(r.Context())
	if err != nil {
		writeError(w, internal(err))
		return
	}
	now := time.Now()
	out := []Stats{}
	for _, d := range deps {
		st, err := WindowStats(r.Context(), s.opts.Store, d, now.Add(-window), now, s.mon.opts.Primary)
		if err != nil {
			writeError(w, internal(err))
			return
		}
		if st.Retrain, err = SuggestRetrain(r.Context(), s.opts.Store, d, now, s.mon.opts.RetrainAfter); err != nil {
			writeError(w, internal(err))
			return
		}
		out = append(out, st)
	}
	writeJSON(w, http.StatusOK, out)
}
