package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/workspace"
)

// LabAPI serves the lab itself to the UI: its task, data, candidates and
// runs, a playground, saving prompts, and the ladder. The CLI's commands
// and these routes share the workspace, so both see the lab the same way.
type LabAPI struct {
	// Open opens the lab's workspace on the server's store; it is called
	// again after the config changes.
	Open func(ctx context.Context) (*workspace.Workspace, error)
	// ConfigPath is the lab's tunelab.yaml (prompts are saved into it).
	ConfigPath string

	mu sync.Mutex
	w  *workspace.Workspace

	ladder ladderRunner
}

// workspace returns the open lab, opening it on first use.
func (a *LabAPI) workspace(ctx context.Context) (*workspace.Workspace, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.w != nil {
		return a.w, nil
	}
	w, err := a.Open(ctx)
	if err != nil {
		return nil, err
	}
	a.w = w
	return w, nil
}

// reload drops the open lab so the next call reads the config again.
func (a *LabAPI) reload() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.w != nil {
		_ = a.w.Close() // the store is the server's and stays open
		a.w = nil
	}
}

func (a *LabAPI) close() {
	a.ladder.stop()
	a.reload()
}

func (s *Server) routeLab(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/lab", s.apiLab)
	mux.HandleFunc("GET /api/cases", s.apiCases)
	mux.HandleFunc("PUT /api/cases/{id}", s.apiEditCase)
	mux.HandleFunc("GET /api/runs", s.apiRuns)
	mux.HandleFunc("GET /api/runs/{id}", s.apiRun)
	mux.HandleFunc("POST /api/playground", s.apiPlayground)
	mux.HandleFunc("POST /api/prompts", s.apiSavePrompt)
	mux.HandleFunc("POST /api/render", s.apiRender)
	mux.HandleFunc("POST /api/capture", s.apiCapture)
	mux.HandleFunc("GET /api/ladder", s.apiLadder)
	mux.HandleFunc("POST /api/ladder", s.apiStartLadder)
	mux.HandleFunc("GET /api/ladder/events", s.apiLadderEvents)
	mux.HandleFunc("GET /api/ladder/report", s.apiLadderReport)
}

// errNoLab answers the lab's routes on a server started without one.
var errNoLab = &apiError{Status: http.StatusNotFound, Type: "invalid_request_error", Message: "this server was started without a lab"}

// lab returns the server's lab, or writes errNoLab and returns nil.
func (s *Server) lab(w http.ResponseWriter) *LabAPI {
	if s.opts.Lab == nil || s.opts.Lab.ConfigPath == "" {
		writeError(w, errNoLab)
		return nil
	}
	return s.opts.Lab
}

// labOr writes the error and returns nil when the lab cannot be opened.
func (s *Server) labOr(w http.ResponseWriter, r *http.Request) *workspace.Workspace {
	if s.lab(w) == nil {
		return nil
	}
	ws, err := s.opts.Lab.workspace(r.Context())
	if err != nil {
		writeError(w, &apiError{Status: http.StatusUnprocessableEntity, Type: "invalid_request_error", Message: err.Error()})
		return nil
	}
	return ws
}

type labInfo struct {
	Name       string          `json:"name"`
	Task       lab.Task        `json:"task"`
	Models     []string        `json:"models"`
	Prompts    []lab.Variant   `json:"prompts"`
	Candidates []lab.Candidate `json:"candidates"`
	Splits     map[string]int  `json:"splits"`
	Labels     map[string]int  `json:"labels"` // train+test rows per expected label
	Dataset    string          `json:"dataset_version"`
	Primary    string          `json:"primary_scorer"`
}

func (s *Server) apiLab(w http.ResponseWriter, r *http.Request) {
	ws := s.labOr(w, r)
	if ws == nil {
		return
	}
	info := labInfo{Name: ws.Task.Name, Task: ws.Task, Candidates: ws.Candidates(), Dataset: ws.Version,
		Splits: map[string]int{"train": len(ws.Train), "validation": len(ws.Val), "test": len(ws.Test)}, Labels: map[string]int{}}
	for _, m := range ws.Config.Models {
		info.Models = append(info.Models, m.Model)
	}
	seen := map[string]bool{}
	for _, c := range info.Candidates {
		if !seen[c.Variant.Name] {
			seen[c.Variant.Name] = true
			info.Prompts = append(info.Prompts, c.Variant)
		}
	}
	for _, set := range [][]lab.Example{ws.Train, ws.Val, ws.Test} {
		for _, e := range set {
			if e.Expected != "" {
				info.Labels[e.Expected]++
			}
		}
	}
	_, info.Primary = ws.ScorerSpecs()
	writeJSON(w, http.StatusOK, info)
}

func (s *Server) apiCases(w http.ResponseWriter, r *http.Request) {
	ws := s.labOr(w, r)
	if ws == nil {
		return
	}
	q := r.URL.Query()
	var rows []lab.Example
	switch q.Get("split") {
	case "", "test":
		rows = ws.Test
	case "train":
		rows = ws.Train
	case "validation":
		rows = ws.Val
	default:
		writeError(w, errBadRequest("split must be train, validation or test"))
		return
	}
	if text := strings.ToLower(strings.TrimSpace(q.Get("q"))); text != "" {
		var hit []lab.Example
		for _, e := range rows {
			if strings.Contains(strings.ToLower(e.Input), text) || strings.Contains(strings.ToLower(e.Expected), text) ||
				strings.EqualFold(e.ID, text) {
				hit = append(hit, e)
			}
		}
		rows = hit
	}
	limit, offset := 50, 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, errBadRequest("limit %q is not a count", v))
			return
		}
		limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			writeError(w, errBadRequest("offset %q is not a count", v))
			return
		}
		offset = n
	}
	total := len(rows)
	rows = rows[min(offset, total):]
	if limit > 0 && limit < len(rows) {
		rows = rows[:limit]
	}
	if rows == nil {
		rows = []lab.Example{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": total, "rows": rows})
}

func (s *Server) apiRuns(w http.ResponseWriter, r *http.Request) {
	runs, err := s.opts.Store.Runs(r.Context())
	if failed(w, err, "") {
		return
	}
	writeJSON(w, http.StatusOK, nonNil(runs))
}

func (s *Server) apiRun(w http.ResponseWriter, r *http.Request) {
	run, err := s.opts.Store.Run(r.Context(), r.PathValue("id"))
	if failed(w, err, "run "+r.PathValue("id")) {
		return
	}
	results, err := s.opts.Store.Results(r.Context(), run.ID)
	if failed(w, err, "") {
		return
	}
	sum := eval.Summarize(run, results)
	finite(&sum)
	writeJSON(w, http.StatusOK, map[string]any{"run": run, "summary": sum, "results": nonNil(results)})
}

// candidateRef names a candidate of the lab, or gives an edited one.
type candidateRef struct {
	ID      string       `json:"id"`
	Model   string       `json:"model"`
	Variant *lab.Variant `json:"variant"`
}

type playgroundRequest struct {
	Candidates []candidateRef `json:"candidates"`
	Input      string         `json:"input"`
	CaseIDs    []string       `json:"case_ids"`
}

type playgroundResult struct {
	Candidate string             `json:"candidate"`
	CaseID    string             `json:"case_id,omitempty"`
	Input     string             `json:"input"`
	Expected  string             `json:"expected,omitempty"`
	Messages  []provider.Message `json:"messages"`
	Output    string             `json:"output"`
	Answer    string             `json:"answer"`
	Pass      *bool              `json:"pass"`
	LatencyMS float64            `json:"latency_ms"`
	TokensIn  int                `json:"tokens_in"`
	TokensOut int                `json:"tokens_out"`
	Cost      float64            `json:"cost"`
	Error     string             `json:"error,omitempty"`
	Retrieved []string           `json:"retrieved,omitempty"`
}

// playgroundMax caps the calls one playground request makes.
const playgroundMax = 64

func (s *Server) apiPlayground(w http.ResponseWriter, r *http.Request) {
	ws := s.labOr(w, r)
	if ws == nil {
		return
	}
	var req playgroundRequest
	if !s.decodeBody(w, r, &req) {
		return
	}
	cands, err := resolveRefs(ws, req.Candidates)
	if err != nil {
		writeError(w, errBadRequest("%v", err))
		return
	}
	cases, err := playgroundCases(ws, req)
	if err != nil {
		writeError(w, errBadRequest("%v", err))
		return
	}
	if len(cands)*len(cases) > playgroundMax {
		writeError(w, errBadRequest("%d candidates x %d cases is more than the playground's %d calls; use tunelab eval", len(cands), len(cases), playgroundMax))
		return
	}
	targets, err := ws.Targets(cands)
	if err != nil {
		writeError(w, errBadRequest("%v", err))
		return
	}
	scorers, primary, err := ws.Scorers()
	if err != nil {
		writeError(w, internal(err))
		return
	}
	out := make([]playgroundResult, 0, len(targets)*len(cases))
	for _, tg := range targets {
		for _, ex := range cases {
			res := playgroundResult{Candidate: tg.Candidate.ID, CaseID: ex.ID, Input: ex.Input, Expected: ex.Expected}
			resp, msgs, retrieved, err := s.run(r.Context(), tg, call{input: ex.Input}, nil)
			res.Messages, res.Retrieved = msgs, retrieved
			if err != nil {
				res.Error = err.Error()
				out = append(out, res)
				continue
			}
			res.Output, res.Answer = resp.Text, tg.Builder.Extract(resp.Text)
			res.LatencyMS = float64(resp.Latency.Microseconds()) / 1000
			res.TokensIn, res.TokensOut = resp.Usage.InputTokens, resp.Usage.OutputTokens
			if tg.Price != nil {
				res.Cost = tg.Price(res.TokensIn, res.TokensOut, resp.Latency)
			}
			if ex.Expected != "" {
				for _, sc := range scorers {
					if sc.Name() != primary {
						continue
					}
					v, err := sc.Score(r.Context(), ex, res.Answer)
					if err == nil {
						res.Pass = &v.Pass
					}
				}
			}
			out = append(out, res)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": out})
}

// resolveRefs turns references into candidates: an id of the lab's (or of
// a run's, such as a tuned model), or a model with an edited variant.
func resolveRefs(ws *workspace.Workspace, refs []candidateRef) ([]lab.Candidate, error) {
	if len(refs) == 0 {
		return nil, errors.New("pick at least one candidate")
	}
	var out []lab.Candidate
	for i, ref := range refs {
		switch {
		case ref.ID != "":
			c, _, err := ws.Deployable(context.Background(), ref.ID)
			if err != nil {
				return nil, fmt.Errorf("candidates[%d]: %w", i, err)
			}
			out = append(out, c)
		case ref.Model != "" && ref.Variant != nil:
			if _, err := provider.ParseRef(ref.Model); err != nil {
				return nil, fmt.Errorf("candidates[%d].model: %w", i, err)
			}
			v := *ref.Variant
			if strings.TrimSpace(v.Name) == "" {
				v.Name = "edited"
			}
			c := lab.Candidate{ID: ref.Model + "/" + v.Name, Model: ref.Model, Variant: v,
				Params: lab.Params{Temperature: ws.Config.Params.Temperature, MaxTokens: ws.Config.Params.MaxTokens, Seed: ws.Config.Params.Seed}}
			// Two edits of one variant name would share a prompt builder.
			c.Variant.Name = fmt.Sprintf("%s#%d", v.Name, i)
			out = append(out, c)
		default:
			return nil, fmt.Errorf("candidates[%d]: give an id, or a model and a variant", i)
		}
	}
	return out, nil
}

func playgroundCases(ws *workspace.Workspace, req playgroundRequest) ([]lab.Example, error) {
	if strings.TrimSpace(req.Input) != "" {
		if len(req.CaseIDs) > 0 {
			return nil, errors.New("give input or case_ids, not both")
		}
		return []lab.Example{{ID: "input", Input: req.Input}}, nil
	}
	if len(req.CaseIDs) == 0 {
		return nil, errors.New("give an input or some case_ids")
	}
	byID := map[string]lab.Example{}
	for _, set := range [][]lab.Example{ws.Test, ws.Val, ws.Train} {
		for _, e := range set {
			byID[e.ID] = e
		}
	}
	var out []lab.Example
	for _, id := range req.CaseIDs {
		e, ok := byID[id]
		if !ok {
			return nil, fmt.Errorf("no case %q in this lab", id)
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *Server) apiSavePrompt(w http.ResponseWriter, r *http.Request) {
	if s.lab(w) == nil {
		return
	}
	var req struct {
		Variant lab.Variant `json:"variant"`
	}
	if !s.decodeBody(w, r, &req) {
		return
	}
	req.Variant.Name = strings.TrimSpace(req.Variant.Name)
	err := config.AddPrompt(s.opts.Lab.ConfigPath, req.Variant)
	switch {
	case errors.Is(err, config.ErrPromptExists):
		writeError(w, &apiError{Status: http.StatusConflict, Type: "invalid_request_error", Message: err.Error()})
		return
	case err != nil:
		writeError(w, errBadRequest("%v", err))
		return
	}
	s.opts.Lab.reload()
	writeJSON(w, http.StatusCreated, map[string]string{"name": req.Variant.Name})
}

// apiRender shows what a candidate sends its model for a case, without
// calling the model: the run's case detail shows it beside the answers.
func (s *Server) apiRender(w http.ResponseWriter, r *http.Request) {
	ws := s.labOr(w, r)
	if ws == nil {
		return
	}
	var req struct {
		Candidate string `json:"candidate"`
		CaseID    string `json:"case_id"`
	}
	if !s.decodeBody(w, r, &req) {
		return
	}
	cands, err := resolveRefs(ws, []candidateRef{{ID: req.Candidate}})
	if err != nil {
		writeError(w, errBadRequest("%v", err))
		return
	}
	cases, err := playgroundCases(ws, playgroundRequest{CaseIDs: []string{req.CaseID}})
	if err != nil {
		writeError(w, errBadRequest("%v", err))
		return
	}
	targets, err := ws.Targets(cands)
	if err != nil {
		writeError(w, errBadRequest("%v", err))
		return
	}
	msgs, retrieved, err := render(r.Context(), targets[0], cases[0])
	if err != nil {
		writeError(w, errBadRequest("%v", err))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"messages": msgs, "retrieved": nonNil(retrieved)})
}
