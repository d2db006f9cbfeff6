package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/tunelab/tunelab/internal/dataset"
	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
)

// Captured is what turning reviewed traces into a dataset found.
type Captured struct {
	Rows     []lab.Example `json:"-"`
	Path     string        `json:"path"` // relative to the lab
	Examples int           `json:"examples"`
	Reviewed int           `json:"reviewed"`
	// NoAnswer were marked wrong without a correction; Repeats were in the
	// train split already or repeated an earlier trace.
	NoAnswer int    `json:"no_answer"`
	Repeats  int    `json:"repeats"`
	Version  string `json:"dataset_version"`
}

// Capture turns a deployment's reviewed traces into examples: the call's
// input, and as the expected answer the newest correction, or the trace's
// own answer when reviewers accepted it. Inputs already in train, and
// repeats, are left out. `tunelab data capture` and the UI share it.
func Capture(ctx context.Context, store lab.ServingStore, train []lab.Example, f lab.TraceFilter) (Captured, error) {
	var c Captured
	f.Reviewed, f.Limit = true, 0
	ts, err := store.Traces(ctx, f)
	if err != nil {
		return c, err
	}
	c.Reviewed = len(ts)
	seen := map[string]bool{}
	for _, e := range train {
		seen[strings.TrimSpace(e.Input)] = true
	}
	for i := len(ts) - 1; i >= 0; i-- { // oldest first, so files diff well
		t := ts[i]
		fbs, err := store.Feedback(ctx, t.ID)
		if err != nil {
			return c, err
		}
		expected := expectedFrom(t, fbs)
		if expected == "" {
			c.NoAnswer++
			continue
		}
		key := strings.TrimSpace(t.Input)
		if seen[key] {
			c.Repeats++
			continue
		}
		seen[key] = true
		var names []string
		named := map[string]bool{}
		for _, fb := range fbs {
			if !named[fb.Reviewer] {
				named[fb.Reviewer] = true
				names = append(names, fb.Reviewer)
			}
		}
		c.Rows = append(c.Rows, lab.Example{ID: t.ID, Input: t.Input, Expected: expected, Meta: map[string]string{
			"source": "trace", "deployment": t.Served, "version": fmt.Sprint(t.Version), "reviewers": strings.Join(names, ","),
		}})
	}
	c.Examples, c.Version = len(c.Rows), dataset.Version(c.Rows)
	return c, nil
}

// expectedFrom is the right answer reviews give a trace: the newest
// correction, else the trace's answer if the newest verdict accepts it.
func expectedFrom(t lab.Trace, fbs []lab.Feedback) string {
	for i := len(fbs) - 1; i >= 0; i-- {
		if c := strings.TrimSpace(fbs[i].Correction); c != "" {
			return c
		}
	}
	if Accepted(t, fbs) {
		return t.Answer
	}
	return ""
}

// WriteCaptured writes the rows as JSONL at labDir/rel, atomically; rel
// empty picks data/captured-DEPLOYMENT-TIME.jsonl.
func WriteCaptured(labDir, rel, deployment string, c *Captured) error {
	if rel == "" {
		rel = fmt.Sprintf("data/captured-%s-%s.jsonl", deployment, time.Now().Format("20060102-150405"))
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, r := range c.Rows {
		if err := enc.Encode(r); err != nil {
			return err
		}
	}
	path := rel
	if !filepath.IsAbs(rel) {
		path = filepath.Join(labDir, rel)
	}
	if err := fsutil.WriteFileAtomic(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", rel, err)
	}
	c.Path = rel
	return nil
}

// apiCapture is the UI's `tunelab data capture`: POST {deployment, since}.
func (s *Server) apiCapture(w http.ResponseWriter, r *http.Request) {
	ws := s.labOr(w, r)
	if ws == nil {
		return
	}
	var req struct {
		Deployment string `json:"deployment"`
		Since      string `json:"since"`
	}
	if !s.decodeBody(w, r, &req) {
		return
	}
	if req.Deployment == "" {
		writeError(w, errBadRequest("deployment is required"))
		return
	}
	f, err := TraceQuery(map[string][]string{"deployment": {req.Deployment}, "since": {req.Since}}, time.Now())
	if err != nil {
		writeError(w, errBadRequest("%v", err))
		return
	}
	c, err := Capture(r.Context(), s.opts.Store, ws.Train, f)
	if failed(w, err, "") {
		return
	}
	if c.Examples == 0 {
		writeError(w, &apiError{Status: http.StatusUnprocessableEntity, Type: "invalid_request_error",
			Message: fmt.Sprintf("none of %d reviewed calls gives a new example: review calls (a thumbs up or a correction) first", c.Reviewed)})
		return
	}
	if err := WriteCaptured(ws.Config.Dir, "", req.Deployment, &c); err != nil {
		writeError(w, internal(err))
		return
	}
	writeJSON(w, http.StatusCreated, c)
}
