package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/tunelab/tunelab/internal/finetune"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/ladder"
)

// ladderRunner runs the lab's ladder in the background for the UI and
// tells subscribers what happens, as server-sent events.
type ladderRunner struct {
	mu     sync.Mutex
	state  string // idle, running, done, failed
	err    string
	log    []string
	subs   map[chan event]struct{}
	cancel context.CancelFunc
	done   chan struct{}
}

type event struct {
	name string
	data any
}

func (l *ladderRunner) publish(name string, data any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if name == "log" {
		l.log = append(l.log, data.(map[string]string)["line"])
	}
	for ch := range l.subs {
		select {
		case ch <- event{name, data}:
		default: // a slow reader misses a progress tick, not the outcome
		}
	}
}

func (l *ladderRunner) setState(state, errText string) {
	l.mu.Lock()
	l.state, l.err = state, errText
	l.mu.Unlock()
	l.publish("state", map[string]string{"state": state, "error": errText})
}

func (l *ladderRunner) stop() {
	l.mu.Lock()
	cancel, done := l.cancel, l.done
	l.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// evalProgress turns the runner's per-call progress into events, at most
// a few a second.
type evalProgress struct {
	l           *ladderRunner
	mu          sync.Mutex
	total, done int
	last        time.Time
}

func (p *evalProgress) Start(total, already int) {
	p.mu.Lock()
	p.total, p.done = total, already
	p.mu.Unlock()
	p.l.publish("progress", map[string]any{"stage": "eval", "done": already, "total": total})
}

func (p *evalProgress) Done(lab.CallResult) {
	p.mu.Lock()
	p.done++
	send := time.Since(p.last) > 200*time.Millisecond || p.done == p.total
	if send {
		p.last = time.Now()
	}
	done, total := p.done, p.total
	p.mu.Unlock()
	if send {
		p.l.publish("progress", map[string]any{"stage": "eval", "done": done, "total": total})
	}
}

func (p *evalProgress) Finish() {}

func (s *Server) apiStartLadder(w http.ResponseWriter, r *http.Request) {
	a := s.lab(w)
	if a == nil {
		return
	}
	l := &a.ladder
	l.mu.Lock()
	if l.state == "running" {
		l.mu.Unlock()
		writeError(w, &apiError{Status: http.StatusConflict, Type: "invalid_request_error", Message: "the ladder is already running"})
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	l.state, l.err, l.log, l.cancel, l.done = "running", "", nil, cancel, make(chan struct{})
	done := l.done
	l.mu.Unlock()
	l.publish("state", map[string]string{"state": "running"})
	go func() {
		defer close(done)
		defer cancel()
		var lastTune time.Time
		res, err := ladder.Run(ctx, ladder.Options{
			ConfigPath: a.ConfigPath, Threads: runtime.NumCPU(),
			EvalProgress: &evalProgress{l: l},
			TuneProgress: func(p finetune.Progress) {
				if time.Since(lastTune) < 500*time.Millisecond && p.Step != p.Steps {
					return
				}
				lastTune = time.Now()
				l.publish("progress", map[string]any{"stage": "tune", "done": p.Step, "total": p.Steps, "loss": p.Loss,
					"eta_s": p.ETA.Seconds()})
			},
			Log: func(line string) { l.publish("log", map[string]string{"line": line}) },
		})
		switch {
		case err != nil:
			l.setState("failed", err.Error())
		case res.Canceled:
			l.setState("failed", "stopped before it finished; finished work is kept")
		default:
			l.setState("done", "")
		}
		a.reload() // tuning registers models; the lab's candidates changed
	}()
	writeJSON(w, http.StatusAccepted, map[string]string{"state": "running"})
}

// ladderDir is where the ladder writes its files.
func ladderDir(a *LabAPI) string { return filepath.Join(filepath.Dir(a.ConfigPath), "ladder") }

func readJSONFile(path string) (json.RawMessage, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !json.Valid(b) {
		return nil, fmt.Errorf("%s is not valid JSON", path)
	}
	return b, nil
}

func (s *Server) apiLadder(w http.ResponseWriter, r *http.Request) {
	a := s.lab(w)
	if a == nil {
		return
	}
	l := &a.ladder
	l.mu.Lock()
	state, errText, log := l.state, l.err, append([]string{}, l.log...)
	l.mu.Unlock()
	if state == "" {
		state = "idle"
	}
	out := map[string]any{"state": state, "log": log}
	if errText != "" {
		out["error"] = errText
	}
	for key, file := range map[string]string{"result": "results.json", "verdict": "verdict.json"} {
		b, err := readJSONFile(filepath.Join(ladderDir(a), file))
		if err != nil {
			writeError(w, internal(err))
			return
		}
		out[key] = b
	}
	if loss := tuningLoss(a, out["verdict"].(json.RawMessage)); loss != nil {
		out["loss"] = loss
	}
	writeJSON(w, http.StatusOK, out)
}

// tuningLoss is the loss curve of the job the verdict names, when its
// record is still in the lab.
func tuningLoss(a *LabAPI, verdict json.RawMessage) map[string][]finetune.Point {
	var v struct {
		Job string `json:"tuning_job"`
	}
	if verdict == nil || json.Unmarshal(verdict, &v) != nil || v.Job == "" {
		return nil
	}
	job, err := finetune.JobsIn(filepath.Dir(a.ConfigPath)).Load(v.Job)
	if err != nil || job.Result == nil {
		return nil // a pruned job leaves the verdict standing without its curve
	}
	return map[string][]finetune.Point{"train": job.Result.Train, "valid": job.Result.Valid}
}

func (s *Server) apiLadderEvents(w http.ResponseWriter, r *http.Request) {
	a := s.lab(w)
	if a == nil {
		return
	}
	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, internal(fmt.Errorf("streaming is not supported here")))
		return
	}
	l := &a.ladder
	ch := make(chan event, 64)
	l.mu.Lock()
	if l.subs == nil {
		l.subs = map[chan event]struct{}{}
	}
	l.subs[ch] = struct{}{}
	state := l.state
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		delete(l.subs, ch)
		l.mu.Unlock()
	}()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if state == "" {
		state = "idle"
	}
	send := func(e event) {
		b, _ := json.Marshal(e.data) // event payloads are plain maps
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.name, b)
		flusher.Flush()
	}
	send(event{"state", map[string]string{"state": state}})
	keepAlive := time.NewTicker(15 * time.Second)
	defer keepAlive.Stop()
	for {
		select {
		case e := <-ch:
			send(e)
		case <-keepAlive.C:
			fmt.Fprint(w, ": keep-alive\n\n")
			flusher.Flush()
		case <-r.Context().Done():
			return
		case <-s.quit:
			return
		}
	}
}

func (s *Server) apiLadderReport(w http.ResponseWriter, r *http.Request) {
	a := s.lab(w)
	if a == nil {
		return
	}
	path := filepath.Join(ladderDir(a), "report.html")
	if _, err := os.Stat(path); err != nil {
		writeError(w, &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Message: "no ladder report yet: run the ladder"})
		return
	}
	http.ServeFile(w, r, path)
}
