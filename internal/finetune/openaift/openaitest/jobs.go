package openaitest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
)

type job struct {
	id, model, suffix      string
	trainFile, validFile   string
	status                 string
	created, finished      int64
	step                   int
	seed                   int64
	hyper                  map[string]any
	events                 []map[string]any // oldest first
	errObj                 map[string]any
	fineTuned              string
	trainedTokens, trainOn int64
}

// TrainLoss and ValidLoss are the losses the fake reports at a step, so
// tests can assert on the curve a client reads.
func TrainLoss(step int) float64 { return 3 / float64(step+1) }

// ValidLoss is the validation loss reported at step when the job has a
// validation file.
func ValidLoss(step int) float64 { return 3.5 / float64(step+1) }

func nullable(v any, set bool) any {
	if !set {
		return nil
	}
	return v
}

func (j *job) object(org string) map[string]any {
	done := j.finished != 0
	var errObj any
	if j.errObj != nil {
		errObj = j.errObj
	}
	return map[string]any{
		"id": j.id, "object": "fine_tuning.job", "created_at": j.created,
		"error":            errObj,
		"fine_tuned_model": nullable(j.fineTuned, j.fineTuned != ""),
		"finished_at":      nullable(j.finished, done),
		"hyperparameters":  j.hyper,
		"model":            j.model, "organization_id": org,
		"result_files": []string{}, "seed": j.seed, "status": j.status,
		"trained_tokens":   nullable(j.trainedTokens, j.status == "succeeded"),
		"training_file":    j.trainFile,
		"validation_file":  nullable(j.validFile, j.validFile != ""),
		"estimated_finish": nil, "integrations": nil, "metadata": nil,
		"method": map[string]any{"type": "supervised", "supervised": map[string]any{"hyperparameters": j.hyper}},
	}
}

// event appends a log entry; callers hold s.mu.
func (s *Server) event(j *job, level, typ, message string, data map[string]any) {
	n := s.next()
	if data == nil {
		data = map[string]any{}
	}
	j.events = append(j.events, map[string]any{
		"object": "fine_tuning.job.event", "id": fmt.Sprintf("ftevent-%06d", n),
		"created_at": s.clock(), "level": level, "message": message, "data": data, "type": typ,
	})
}

func (s *Server) createJob(w http.ResponseWriter, r *http.Request) {
	s.count("POST /fine_tuning/jobs")
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		apiError(w, 400, "invalid_request_error", "", nil, "We could not parse the JSON body of your request: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.creates = append(s.creates, body)
	bad := func(param, code, msg string) {
		var c any
		if code != "" {
			c = code
		}
		apiError(w, 400, "invalid_request_error", param, c, msg)
	}
	model, _ := body["model"].(string)
	if model == "" {
		bad("model", "", "Missing required parameter: 'model'.")
		return
	}
	if s.cfg.models != nil && !s.cfg.models[model] {
		bad("model", "model_not_available", fmt.Sprintf("Model %s is not available for fine-tuning or does not exist.", model))
		return
	}
	train, ok := s.fineTuneFile(body, "training_file", bad)
	if !ok {
		return
	}
	valid := ""
	if _, set := body["validation_file"]; set {
		f, ok := s.fineTuneFile(body, "validation_file", bad)
		if !ok {
			return
		}
		valid = f.id
	}
	suffix, _ := body["suffix"].(string)
	if len(suffix) > 64 {
		bad("suffix", "", "suffix must be at most 64 characters")
		return
	}
	hyper, msg := hyperparameters(body)
	if msg != "" {
		bad("hyperparameters", "", msg)
		return
	}
	seed := int64(42)
	if v, ok := body["seed"].(float64); ok {
		seed = int64(v)
	}
	j := &job{
		id: fmt.Sprintf("ftjob-%06d", s.next()), model: model, suffix: suffix,
		trainFile: train.id, validFile: valid, status: "validating_files",
		seed: seed, hyper: hyper, trainOn: train.words * int64(hyper["n_epochs"].(int)),
	}
	j.created = s.clock()
	s.event(j, "info", "message", "Created fine-tuning job: "+j.id, nil)
	s.event(j, "info", "message", "Validating training file: "+train.id, nil)
	s.jobs[j.id] = j
	s.order = append(s.order, j.id)
	writeJSON(w, 200, j.object(s.cfg.org))
}

// fineTuneFile looks up the file named by body[param], which must exist
// and have been uploaded for fine-tuning.
func (s *Server) fineTuneFile(body map[string]any, param string, bad func(param, code, msg string)) (*file, bool) {
	id, _ := body[param].(string)
	if id == "" {
		bad(param, "", fmt.Sprintf("Missing required parameter: '%s'.", param))
		return nil, false
	}
	f, ok := s.files[id]
	if !ok {
		bad(param, "invalid_"+param, fmt.Sprintf("invalid %s: %s", param, id))
		return nil, false
	}
	if f.purpose != "fine-tune" {
		bad(param, "invalid_"+param, fmt.Sprintf("File %s has purpose '%s'; fine-tuning requires purpose 'fine-tune'.", id, f.purpose))
		return nil, false
	}
	return f, true
}

// hyperparameters reads method.supervised.hyperparameters (or the
// deprecated top-level field, but not both) and resolves "auto" as the API
// does once it has seen the data.
func hyperparameters(body map[string]any) (map[string]any, string) {
	var hp map[string]any
	top, hasTop := body["hyperparameters"].(map[string]any)
	if m, ok := body["method"].(map[string]any); ok {
		if t, _ := m["type"].(string); t != "supervised" {
			return nil, fmt.Sprintf("method.type %q is not supported by this fake: want 'supervised'", t)
		}
		sup, _ := m["supervised"].(map[string]any)
		hp, _ = sup["hyperparameters"].(map[string]any)
		if hasTop && hp != nil {
			return nil, "hyperparameters is deprecated and cannot be combined with method.supervised.hyperparameters"
		}
	}
	if hp == nil {
		hp = top
	}
	out := map[string]any{"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 1.8}
	for _, k := range []struct {
		name     string
		min, max float64
		integer  bool
	}{{"n_epochs", 1, 50, true}, {"batch_size", 1, 256, true}, {"learning_rate_multiplier", 1e-9, 100, false}} {
		v, set := hp[k.name]
		if !set || v == "auto" {
			continue
		}
		f, ok := v.(float64)
		if !ok || f < k.min || f > k.max || (k.integer && f != float64(int(f))) {
			return nil, fmt.Sprintf("invalid %s %v: want 'auto' or a number from %g to %g", k.name, v, k.min, k.max)
		}
		if k.integer {
			out[k.name] = int(f)
		} else {
			out[k.name] = f
		}
	}
	return out, ""
}

func (s *Server) lookup(w http.ResponseWriter, id string) *job {
	j, ok := s.jobs[id]
	if !ok {
		apiError(w, 404, "invalid_request_error", "fine_tuning_job_id", "fine_tune_not_found", "Could not find fine-tuning job: "+id)
		return nil
	}
	return j
}

// getJob is GET /fine_tuning/jobs/{id}; each read moves the job one step.
func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	s.count("GET /fine_tuning/jobs/{id}")
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.lookup(w, r.PathValue("id"))
	if j == nil {
		return
	}
	s.advance(j)
	writeJSON(w, 200, j.object(s.cfg.org))
}

func (s *Server) advance(j *job) {
	switch j.status {
	case "validating_files":
		if s.cfg.failAt == 1 {
			s.fail(j)
			return
		}
		j.status = "queued"
		s.event(j, "info", "message", "Files validated, moving job to queued state", nil)
	case "queued":
		j.status = "running"
		s.event(j, "info", "message", "Fine-tuning job started", nil)
	case "running":
		if j.step == s.cfg.steps {
			s.next()
			j.status, j.finished = "succeeded", s.clock()
			j.fineTuned = fmt.Sprintf("ft:%s:tunelab:%s:%s", j.model, j.suffix, j.id[len("ftjob-"):])
			j.trainedTokens = j.trainOn
			s.event(j, "info", "message", "New fine-tuned model created", nil)
			s.event(j, "info", "message", "The job has successfully completed", nil)
			return
		}
		j.step++
		data := map[string]any{"step": j.step, "train_loss": TrainLoss(j.step), "total_steps": s.cfg.steps, "train_mean_token_accuracy": 0.5}
		msg := fmt.Sprintf("Step %d/%d: training loss=%.2f", j.step, s.cfg.steps, TrainLoss(j.step))
		if j.validFile != "" {
			data["valid_loss"] = ValidLoss(j.step)
			msg += fmt.Sprintf(", validation loss=%.2f", ValidLoss(j.step))
		}
		s.event(j, "info", "metrics", msg, data)
		if s.cfg.failAt == j.step+1 {
			s.fail(j)
		}
	}
}

func (s *Server) fail(j *job) {
	s.next()
	j.status, j.finished = "failed", s.clock()
	j.errObj = map[string]any{"code": s.cfg.failCode, "message": s.cfg.failMsg, "param": nil}
	s.event(j, "error", "message", "The job failed: "+s.cfg.failMsg, nil)
}

// cancelJob is POST /fine_tuning/jobs/{id}/cancel.
func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) {
	s.count("POST /fine_tuning/jobs/{id}/cancel")
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.lookup(w, r.PathValue("id"))
	if j == nil {
		return
	}
	if j.finished != 0 {
		apiError(w, 400, "invalid_request_error", "", nil, fmt.Sprintf("Job %s has already completed with status %s and cannot be cancelled.", j.id, j.status))
		return
	}
	s.next()
	j.status, j.finished = "cancelled", s.clock()
	s.event(j, "info", "message", "Fine-tuning job cancelled", nil)
	writeJSON(w, 200, j.object(s.cfg.org))
}

// listEvents is GET /fine_tuning/jobs/{id}/events: a list page, newest
// first; after is the id of the last event of the previous page.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	s.count("GET /fine_tuning/jobs/{id}/events")
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.lookup(w, r.PathValue("id"))
	if j == nil {
		return
	}
	limit := 20
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			apiError(w, 400, "invalid_request_error", "limit", nil, fmt.Sprintf("Invalid limit %q: want an integer from 1 to 100", v))
			return
		}
		limit = n
	}
	newest := make([]map[string]any, 0, len(j.events))
	for i := len(j.events) - 1; i >= 0; i-- {
		newest = append(newest, j.events[i])
	}
	if after := r.URL.Query().Get("after"); after != "" {
		i := 0
		for i < len(newest) && newest[i]["id"] != after {
			i++
		}
		if i == len(newest) {
			apiError(w, 400, "invalid_request_error", "after", nil, "No such event: "+after)
			return
		}
		newest = newest[i+1:]
	}
	more := len(newest) > limit
	if more {
		newest = newest[:limit]
	}
	writeJSON(w, 200, map[string]any{"object": "list", "data": newest, "has_more": more})
}
