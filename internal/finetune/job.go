package finetune

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/tunelab/tunelab/internal/engine"
	"github.com/tunelab/tunelab/internal/fsutil"
)

// Job states.
const (
	StatusRunning     = "running"
	StatusInterrupted = "interrupted" // stopped; running the same job again resumes it
	StatusSucceeded   = "succeeded"
	StatusFailed      = "failed"
	StatusCancelled   = "cancelled"
)

// Spec is what a job trains; two jobs with the same spec are the same job.
type Spec struct {
	Backend  string              `json:"backend"`
	Base     string              `json:"base"`      // the base model's ref
	BaseHash string              `json:"base_hash"` // of the base model file
	Name     string              `json:"name"`      // what the result is registered as
	Prompt   string              `json:"prompt"`    // the prompt variant trained on
	DataHash string              `json:"data_hash"`
	LoRA     engine.TrainOptions `json:"lora"`
	Train    Config              `json:"train"`
}

// ID is the job's identity: a hash of what decides its result, so not the
// thread count (speed only) nor the name it is registered under (a
// finished job registered under a new name is reused, not retrained).
func (s Spec) ID() string {
	c := s
	c.LoRA.Threads = 0
	c.Name = ""
	raw, _ := json.Marshal(c) // plain data always marshals
	sum := sha256.Sum256(raw)
	return "ft-" + hex.EncodeToString(sum[:])[:12]
}

// Job is a tuning job's record, kept as job.json in its folder.
type Job struct {
	ID       string    `json:"id"`
	Spec     Spec      `json:"spec"`
	Status   string    `json:"status"`
	PID      int       `json:"pid,omitempty"`
	Created  time.Time `json:"created"`
	Updated  time.Time `json:"updated"`
	Error    string    `json:"error,omitempty"`
	Examples int       `json:"examples"`
	Valid    int       `json:"validation_examples"`
	Dropped  []Dropped `json:"dropped,omitempty"`
	// Model is the result as a model reference (local:NAME, or a
	// provider's fine-tuned model id); Adapter the LoRA file, if any.
	Model    string  `json:"model,omitempty"`
	Adapter  string  `json:"adapter,omitempty"`
	Result   *Result `json:"result,omitempty"`
	Provider string  `json:"provider_job,omitempty"` // the provider's job id
	// Log is the job's event log: one line per epoch, validation or event.
	Log []string `json:"log,omitempty"`
}

// Jobs keeps job records in a folder, one subfolder per job, so they
// survive restarts and the commands that inspect them need no server.
type Jobs struct{ Dir string }

// Path is a job's folder (checkpoints live there too).
func (j Jobs) Path(id string) string { return filepath.Join(j.Dir, id) }

// Save writes the job's record atomically.
func (j Jobs) Save(job *Job) error {
	job.Updated = time.Now().UTC()
	raw, err := json.MarshalIndent(job, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(j.Path(job.ID), "job.json"), append(raw, '\n'), 0o644)
}

// ErrNoJob means there is no job with that id.
var ErrNoJob = errors.New("no such job")

// Load reads a job's record.
func (j Jobs) Load(id string) (*Job, error) {
	raw, err := os.ReadFile(filepath.Join(j.Path(id), "job.json"))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("job %s: %w (tunelab tune status lists the jobs)", id, ErrNoJob)
	}
	if err != nil {
		return nil, err
	}
	var job Job
	if err := json.Unmarshal(raw, &job); err != nil {
		return nil, fmt.Errorf("job %s: %s is damaged: %w", id, filepath.Join(j.Path(id), "job.json"), err)
	}
	return &job, nil
}

// List returns every job, newest first.
func (j Jobs) List() ([]*Job, error) {
	entries, err := os.ReadDir(j.Dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var jobs []*Job
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		job, err := j.Load(e.Name())
		if errors.Is(err, ErrNoJob) {
			continue
		}
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, job)
	}
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].Created.After(jobs[b].Created) })
	return jobs, nil
}

// Alive says whether a running job's process still exists; a job whose
// process died (killed, machine restarted) is really interrupted.
func (job *Job) Alive() bool {
	if job.Status != StatusRunning || job.PID <= 0 {
		return false
	}
	return processAlive(job.PID)
}
