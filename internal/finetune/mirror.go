package finetune

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/workspace"
)

// Mirror copies a local tuning job's files to and from a store's
// artifacts, so that a job queued on one machine is trained by a worker on
// another, resumed by a third if that one dies, and collected by the first.
// The store's copy is the shared truth: a worker starting a slice of a job
// takes the store's checkpoint over its own.
type Mirror struct {
	Store lab.ArtifactStore
	// known maps an artifact to the hash of the content this process last
	// pushed or pulled, so an unchanged file is not sent again.
	known map[string]string
}

// JobArtifact names a job's file in the store.
func JobArtifact(id, file string) string { return "tune/" + id + "/" + file }

// ModelArtifact names a tuned model's file (NAME.gguf, NAME.lora.gguf) in
// the store, where a worker evaluating local:NAME finds it.
func ModelArtifact(file string) string { return workspace.ModelArtifact(file) }

// resumeFiles are what another machine needs to resume a job.
var resumeFiles = []string{checkpointFile, bestFile}

// PushCheckpoints sends the job's checkpoint files that changed since the
// last push.
func (m *Mirror) PushCheckpoints(ctx context.Context, jobs Jobs, id string) error {
	for _, f := range resumeFiles {
		if err := m.push(ctx, JobArtifact(id, f), filepath.Join(jobs.Path(id), f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// PullCheckpoints makes the job's local checkpoint files equal to the
// store's, and says how many it fetched.
func (m *Mirror) PullCheckpoints(ctx context.Context, jobs Jobs, id string) (int, error) {
	n := 0
	for _, f := range resumeFiles {
		got, err := m.pull(ctx, JobArtifact(id, f), filepath.Join(jobs.Path(id), f))
		if err != nil {
			return n, err
		}
		if got {
			n++
		}
	}
	return n, nil
}

func (m *Mirror) push(ctx context.Context, name, path string) error {
	sum, err := fsutil.SHA256(path)
	if err != nil {
		return err
	}
	if m.known[name] == sum {
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := m.Store.PutArtifact(ctx, name, f)
	if err != nil {
		return err
	}
	if info.SHA256 != sum {
		return fmt.Errorf("push %s: %s changed while it was sent", name, path)
	}
	m.remember(name, sum)
	return nil
}

// pull replaces path with the store's artifact when they differ; an
// artifact the store does not have leaves path alone.
func (m *Mirror) pull(ctx context.Context, name, path string) (bool, error) {
	info, err := m.Store.Artifact(ctx, name)
	if errors.Is(err, lab.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if sum, err := fsutil.SHA256(path); err == nil && sum == info.SHA256 {
		m.remember(name, sum)
		return false, nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	var got lab.ArtifactInfo
	err = fsutil.WriteAtomic(path, 0o644, func(w io.Writer) error {
		got, err = m.Store.ReadArtifact(ctx, name, w)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("fetch %s into %s: %w", name, path, err)
	}
	m.remember(name, got.SHA256)
	return true, nil
}

func (m *Mirror) remember(name, sum string) {
	if m.known == nil {
		m.known = map[string]string{}
	}
	m.known[name] = sum
}

// RemoteStatus is what the worker training a queued job tells the machine
// that queued it.
type RemoteStatus struct {
	Job      string    `json:"job"`
	Status   string    `json:"status"` // a Job status
	Worker   string    `json:"worker"` // host and process
	Progress *Progress `json:"progress,omitempty"`
	Error    string    `json:"error,omitempty"`
	Updated  time.Time `json:"updated"`
}

const statusFile = "status.json"

// PushStatus publishes the job's status.
func (m *Mirror) PushStatus(ctx context.Context, st RemoteStatus) error {
	st.Updated = time.Now().UTC()
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = m.Store.PutArtifact(ctx, JobArtifact(st.Job, statusFile), bytes.NewReader(raw))
	return err
}

// Status reads the job's published status; ok is false when no worker has
// published one yet.
func (m *Mirror) Status(ctx context.Context, id string) (st RemoteStatus, ok bool, err error) {
	var buf bytes.Buffer
	if _, err := m.Store.ReadArtifact(ctx, JobArtifact(id, statusFile), &buf); errors.Is(err, lab.ErrNotFound) {
		return st, false, nil
	} else if err != nil {
		return st, false, err
	}
	if err := json.Unmarshal(buf.Bytes(), &st); err != nil {
		return st, false, fmt.Errorf("job %s: the status in the store is damaged: %w", id, err)
	}
	return st, true, nil
}

const recordFile = "job.json"

// PushResult sends a finished job's tuned model (and adapter) and then its
// record; the record goes last, so a machine that finds it finds the files.
func (m *Mirror) PushResult(ctx context.Context, job *Job, modelsDir string) error {
	if job.Status != StatusSucceeded {
		return fmt.Errorf("push job %s: it has not succeeded (%s)", job.ID, job.Status)
	}
	for _, file := range resultFiles(job) {
		if err := m.push(ctx, ModelArtifact(file), filepath.Join(modelsDir, file)); err != nil {
			return fmt.Errorf("push job %s: %w", job.ID, err)
		}
	}
	raw, err := json.Marshal(job)
	if err != nil {
		return err
	}
	if _, err := m.Store.PutArtifact(ctx, JobArtifact(job.ID, recordFile), bytes.NewReader(raw)); err != nil {
		return fmt.Errorf("push job %s: %w", job.ID, err)
	}
	return nil
}

// resultFiles are a finished job's files in the models folder.
func resultFiles(job *Job) []string {
	files := []string{job.Spec.Name + ".gguf"}
	if job.Adapter != "" {
		files = append(files, job.Spec.Name+".lora.gguf")
	}
	return files
}

// PullResult fetches a job that finished elsewhere: its model files into
// modelsDir and its record into jobs, so the lab uses local:NAME as if it
// had trained it. It returns nil when the store holds no finished job.
func (m *Mirror) PullResult(ctx context.Context, jobs Jobs, id, modelsDir string) (*Job, error) {
	var buf bytes.Buffer
	if _, err := m.Store.ReadArtifact(ctx, JobArtifact(id, recordFile), &buf); errors.Is(err, lab.ErrNotFound) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var job Job
	if err := json.Unmarshal(buf.Bytes(), &job); err != nil {
		return nil, fmt.Errorf("job %s: the record in the store is damaged: %w", id, err)
	}
	for _, file := range resultFiles(&job) {
		if _, err := m.pull(ctx, ModelArtifact(file), filepath.Join(modelsDir, file)); err != nil {
			return nil, fmt.Errorf("fetch job %s: %w", id, err)
		}
	}
	// Another job registered under the same name may have replaced the
	// store's file since; then this job's result is gone from the store.
	modelPath := filepath.Join(modelsDir, job.Spec.Name+".gguf")
	if got := modelJob(modelPath); got != id {
		return nil, fmt.Errorf("fetch job %s: the store's %s now holds job %s's result; run the job again to train it", id, ModelArtifact(job.Spec.Name+".gguf"), got)
	}
	if job.Adapter != "" {
		job.Adapter = filepath.Join(modelsDir, job.Spec.Name+".lora.gguf")
	}
	job.PID = 0
	if err := jobs.Save(&job); err != nil {
		return nil, err
	}
	return &job, nil
}
