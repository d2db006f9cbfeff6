package finetune

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/tunelab/tunelab/internal/finetune/openaift"
	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
)

// WriteChatJSONL writes examples as OpenAI chat fine-tuning rows (the
// prompt's messages, then the expected answer as the assistant's turn)
// and returns a hash of what it wrote. Rows without an expected answer are
// skipped.
func WriteChatJSONL(path string, b *prompt.Builder, examples []lab.Example) (string, int, error) {
	var sb strings.Builder
	n := 0
	for _, ex := range examples {
		if strings.TrimSpace(ex.Expected) == "" {
			continue
		}
		msgs, err := b.Messages(ex)
		if err != nil {
			return "", 0, err
		}
		type msg struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		}
		row := struct {
			Messages []msg `json:"messages"`
		}{}
		for _, m := range msgs {
			row.Messages = append(row.Messages, msg{m.Role, m.Content})
		}
		row.Messages = append(row.Messages, msg{"assistant", b.Answer(ex.Expected)})
		raw, err := json.Marshal(row)
		if err != nil {
			return "", 0, err
		}
		sb.Write(raw)
		sb.WriteByte('\n')
		n++
	}
	data := []byte(sb.String())
	if err := fsutil.WriteFileAtomic(path, data, 0o644); err != nil {
		return "", 0, err
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:]), n, nil
}

// OpenAIRequest is a job on OpenAI's fine-tuning API.
type OpenAIRequest struct {
	Jobs      Jobs
	Client    *openaift.Client
	Spec      Spec // Base is openai:MODEL
	TrainFile string
	ValidFile string
	Poll      time.Duration
	OnEvent   func(openaift.Event)
}

// RunOpenAI starts the job (once: a job already created is waited on again,
// not created twice, so an interrupted command resumes watching it) and
// waits for the provider to finish it. The result is registered as the
// model reference openai:FINE_TUNED_MODEL.
func RunOpenAI(ctx context.Context, req OpenAIRequest) (*Job, error) {
	spec := req.Spec
	id := spec.ID()
	job, err := req.Jobs.Load(id)
	switch {
	case errors.Is(err, ErrNoJob):
		job = &Job{ID: id, Spec: spec, Created: time.Now().UTC()}
	case err != nil:
		return nil, err
	case job.Status == StatusSucceeded:
		return job, nil
	}
	model := strings.TrimPrefix(spec.Base, "openai:")
	if job.Provider == "" || job.Status == StatusFailed || job.Status == StatusCancelled {
		pj, err := req.Client.Start(ctx, openaift.Spec{
			BaseModel: model, TrainFile: req.TrainFile, ValidationFile: req.ValidFile,
			Suffix: spec.Name, Epochs: spec.Train.Epochs,
		})
		if err != nil {
			return nil, err
		}
		job.Provider = pj.ID
		job.Log = append(job.Log, time.Now().UTC().Format(time.RFC3339)+" created provider job "+pj.ID)
	}
	job.Status, job.PID, job.Error = StatusRunning, os.Getpid(), ""
	if err := req.Jobs.Save(job); err != nil {
		return nil, err
	}
	res := &Result{BestEpoch: -1}
	start := time.Now()
	pj, err := req.Client.Wait(ctx, job.Provider, req.Poll, func(e openaift.Event) {
		job.Log = append(job.Log, e.CreatedAt.UTC().Format(time.RFC3339)+" "+e.Message)
		if e.TrainLoss != nil {
			res.Train = append(res.Train, Point{Step: e.Step, Loss: *e.TrainLoss})
		}
		if req.OnEvent != nil {
			req.OnEvent(e)
		}
	})
	job.PID = 0
	if err != nil {
		switch cur, lerr := req.Jobs.Load(id); {
		case ctx.Err() == nil:
			job.Status, job.Error = StatusFailed, err.Error()
		case lerr == nil && cur.Status == StatusCancelled:
			job.Status = StatusCancelled // `tunelab tune cancel` stopped us
		default:
			job.Status = StatusInterrupted
		}
		return nil, errors.Join(err, req.Jobs.Save(job))
	}
	res.Steps, res.Duration, res.Tokens = len(res.Train), time.Since(start), pj.TrainedTokens
	res.Stopped = pj.Status
	job.Result = res
	switch pj.Status {
	case "succeeded":
		job.Status, job.Model = StatusSucceeded, "openai:"+pj.FineTunedModel
	case "cancelled":
		job.Status = StatusCancelled
	default:
		job.Status, job.Error = StatusFailed, pj.Error
	}
	if err := req.Jobs.Save(job); err != nil {
		return nil, err
	}
	if job.Status != StatusSucceeded {
		return job, fmt.Errorf("OpenAI fine-tuning job %s %s: %s", pj.ID, pj.Status, pj.Error)
	}
	return job, nil
}

// CancelOpenAI cancels a job's provider side.
func CancelOpenAI(ctx context.Context, c *openaift.Client, job *Job) error {
	if job.Provider == "" {
		return fmt.Errorf("job %s has no provider job to cancel", job.ID)
	}
	if _, err := c.Cancel(ctx, job.Provider); err != nil {
		return err
	}
	return nil
}
