package finetune

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/tunelab/tunelab/internal/engine"
	"github.com/tunelab/tunelab/internal/gguf"
)

// LocalRequest is a LoRA job on the built-in trainer.
type LocalRequest struct {
	Jobs      Jobs
	BasePath  string // the base model's file
	ModelsDir string // where the tuned model is registered (local:NAME)
	Spec      Spec
	Data      *Prepared
	Threads   int
	// OnProgress sees every optimiser step; OnLog each epoch's summary.
	OnProgress func(Progress)
	OnLog      func(string)
	// OnCheckpoint runs after each checkpoint is written, and YieldAt
	// stops training at a checkpoint (see Hooks).
	OnCheckpoint func() error
	YieldAt      time.Time
}

// modelJob is the job a tuned model file records, "" when none.
func modelJob(path string) string {
	h, err := gguf.ReadHeader(path)
	if err != nil {
		return ""
	}
	raw, _ := h.String("tunelab.tune")
	var meta struct {
		Job string `json:"job"`
	}
	if json.Unmarshal([]byte(raw), &meta) != nil {
		return ""
	}
	return meta.Job
}

// RunLocal runs (or resumes, or reuses) the job the request describes and
// registers the tuned model as ModelsDir/NAME.gguf, with the adapter beside
// it as NAME.lora.gguf for llama.cpp and Ollama.
func RunLocal(ctx context.Context, req LocalRequest) (*Job, error) {
	spec := req.Spec
	id := spec.ID()
	modelPath := filepath.Join(req.ModelsDir, spec.Name+".gguf")
	job, err := req.Jobs.Load(id)
	switch {
	case errors.Is(err, ErrNoJob):
		job = &Job{ID: id, Spec: spec, Created: time.Now().UTC()}
	case err != nil:
		return nil, err
	case job.Status == StatusSucceeded:
		if modelJob(modelPath) == id {
			return job, nil // done before, and the file is still its result
		}
		// Another job's result has the name now: training resumes from the
		// finished checkpoint at once and writes this job's result again.
	case job.Alive():
		return nil, fmt.Errorf("job %s is already running (process %d); wait for it or run tunelab tune cancel %s", id, job.PID, id)
	}
	job.Status, job.PID, job.Error = StatusRunning, os.Getpid(), ""
	job.Examples, job.Valid, job.Dropped = len(req.Data.Train), len(req.Data.Valid), req.Data.Dropped
	if err := req.Jobs.Save(job); err != nil {
		return nil, err
	}
	logf := func(format string, args ...any) {
		line := fmt.Sprintf(format, args...)
		job.Log = append(job.Log, time.Now().UTC().Format(time.RFC3339)+" "+line)
		if req.OnLog != nil {
			req.OnLog(line)
		}
	}
	fail := func(err error) (*Job, error) {
		job.PID = 0
		if ctx.Err() != nil || errors.Is(err, ErrYielded) {
			// Someone may have cancelled the job from another process.
			if cur, lerr := req.Jobs.Load(id); lerr == nil && cur.Status == StatusCancelled {
				job.Status = StatusCancelled
			} else {
				job.Status = StatusInterrupted
			}
			logf("stopped at a checkpoint; run the same command to resume")
		} else {
			job.Status, job.Error = StatusFailed, err.Error()
		}
		if serr := req.Jobs.Save(job); serr != nil {
			return nil, errors.Join(err, serr)
		}
		return nil, err
	}

	h, err := gguf.ReadHeader(req.BasePath)
	if err != nil {
		return fail(err)
	}
	shape, err := engine.ShapeOf(h)
	if err != nil {
		return fail(err)
	}
	opts := spec.LoRA
	opts.Threads = req.Threads
	tr, err := engine.NewTrainer(shape, opts)
	if err != nil {
		return fail(err)
	}
	defer tr.Close()
	if err := tr.LoadWeights(h); err != nil {
		return fail(err)
	}
	if opts.Rank > 0 {
		if err := tr.InitLoRA(spec.Train.Seed); err != nil {
			return fail(err)
		}
	}
	res, err := TrainWith(ctx, tr, req.Data.Train, req.Data.Valid, spec.Train, req.Jobs.Path(id), Hooks{OnProgress: req.OnProgress, OnCheckpoint: req.OnCheckpoint, YieldAt: req.YieldAt})
	if err != nil {
		return fail(err)
	}
	for _, v := range res.Valid {
		logf("epoch %d: validation loss %.4f", int(v.Epoch), v.Loss)
	}
	meta, _ := json.Marshal(map[string]any{"job": id, "base": spec.Base, "data": spec.DataHash, "prompt": spec.Prompt,
		"lora": spec.LoRA, "train": spec.Train, "best_validation_loss": res.BestValid, "best_epoch": res.BestEpoch})
	if err := os.MkdirAll(req.ModelsDir, 0o755); err != nil {
		return fail(err)
	}
	extra := []gguf.KV{{Key: "general.name", Value: spec.Name}, {Key: "tunelab.tune", Value: string(meta)}}
	if err := tr.SaveModel(modelPath, h.KV, gguf.F16, extra...); err != nil {
		return fail(err)
	}
	adapter := ""
	if opts.Rank > 0 {
		adapter = filepath.Join(req.ModelsDir, spec.Name+".lora.gguf")
		if err := tr.SaveLoRA(adapter); err != nil {
			return fail(err)
		}
	}
	logf("%s after %d steps (%s); best validation loss %.4f at epoch %d; wrote %s %s",
		res.Stopped, res.Steps, res.Duration.Round(time.Second), res.BestValid, res.BestEpoch, modelPath, adapter)
	job.Status, job.PID, job.Result = StatusSucceeded, 0, res
	job.Model, job.Adapter = "local:"+spec.Name, adapter
	if err := req.Jobs.Save(job); err != nil {
		return nil, err
	}
	return job, nil
}

// Finished returns the plan's job when it succeeded before and its tuned
// model file is still its result, else nil.
func Finished(p *Plan) *Job {
	job, err := p.Jobs.Load(p.Spec.ID())
	if err != nil || job.Status != StatusSucceeded {
		return nil
	}
	if modelJob(filepath.Join(p.ModelsDir, p.Spec.Name+".gguf")) != job.ID {
		return nil
	}
	return job
}
