// Package openaift runs supervised fine-tuning jobs on the OpenAI API
// through the official openai-go SDK: it uploads chat JSONL training data,
// creates the job, follows it (status and the loss curve from its events)
// and cancels it. It is the provider rung of tunelab's fine-tuning ladder;
// the resulting "ft:..." model is then evaluated like any other model.
package openaift

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// DefaultBaseURL is where New sends requests when given no base URL. It is
// set explicitly, not left to the SDK, so OPENAI_BASE_URL in the
// environment cannot redirect the key somewhere the caller did not name.
const DefaultBaseURL = "https://api.openai.com/v1/"

// Client talks to one fine-tuning API.
type Client struct {
	api openai.Client
	key string // kept only to scrub it from errors
}

// New builds a client. baseURL "" is api.openai.com; any other address
// (an OpenAI-compatible server, a test fake) gets apiKey and nothing from
// the environment's OPENAI_API_KEY. httpClient nil is the SDK's default.
func New(apiKey, baseURL string, httpClient *http.Client) (*Client, error) {
	if apiKey == "" {
		return nil, errors.New("openai fine-tuning: no API key: set OPENAI_API_KEY")
	}
	if baseURL == "" {
		baseURL = DefaultBaseURL
	}
	opts := []option.RequestOption{
		option.WithAPIKey(apiKey),
		option.WithBaseURL(baseURL),
		// Callers poll and retry at their own pace; SDK retries would
		// hide attempts and, for job creation, risk a second paid job.
		option.WithMaxRetries(0),
	}
	if httpClient != nil {
		opts = append(opts, option.WithHTTPClient(httpClient))
	}
	return &Client{api: openai.NewClient(opts...), key: apiKey}, nil
}

// Spec is one supervised fine-tuning job. Zero hyperparameters leave the
// choice to the API ("auto").
type Spec struct {
	BaseModel      string // e.g. "gpt-4o-mini-2024-07-18"
	TrainFile      string // local path, OpenAI chat JSONL
	ValidationFile string // optional local path
	Suffix         string // up to 64 characters, part of the tuned model's name
	Epochs         int
	BatchSize      int
	LRMultiplier   float64
	Seed           *int64
}

// Job is a fine-tuning job as the API last reported it.
type Job struct {
	ID             string
	Status         string // validating_files, queued, running, succeeded, failed, cancelled
	Model          string // the base model
	FineTunedModel string // set once the job succeeded
	Error          string // why the job failed
	TrainedTokens  int64
	CreatedAt      time.Time
	FinishedAt     time.Time // zero until the job ends
}

// Done reports whether the job has ended: it will change no more.
func (j Job) Done() bool {
	switch j.Status {
	case "succeeded", "failed", "cancelled":
		return true
	}
	return false
}

// Start uploads the training (and validation) file with purpose
// "fine-tune" and creates the job. When creation fails the uploads are
// deleted, so a rejected job leaves no files behind in the account.
func (c *Client) Start(ctx context.Context, s Spec) (Job, error) {
	if err := s.validate(); err != nil {
		return Job{}, err
	}
	var uploaded []string
	cleanup := func(err error) (Job, error) {
		for _, id := range uploaded {
			if _, derr := c.api.Files.Delete(context.WithoutCancel(ctx), id); derr != nil {
				err = errors.Join(err, c.fail(fmt.Sprintf("delete uploaded file %s (delete it by hand)", id), derr))
			}
		}
		return Job{}, err
	}
	trainID, err := c.upload(ctx, s.TrainFile)
	if err != nil {
		return Job{}, err
	}
	uploaded = append(uploaded, trainID)
	params := openai.FineTuningJobNewParams{
		Model:        openai.FineTuningJobNewParamsModel(s.BaseModel),
		TrainingFile: trainID,
	}
	if s.ValidationFile != "" {
		validID, err := c.upload(ctx, s.ValidationFile)
		if err != nil {
			return cleanup(err)
		}
		uploaded = append(uploaded, validID)
		params.ValidationFile = openai.String(validID)
	}
	if s.Suffix != "" {
		params.Suffix = openai.String(s.Suffix)
	}
	if s.Seed != nil {
		params.Seed = openai.Int(*s.Seed)
	}
	// Hyperparameters go under method.supervised: the top-level
	// hyperparameters field is deprecated in the API.
	var hp openai.SupervisedHyperparameters
	if s.Epochs > 0 {
		hp.NEpochs.OfInt = openai.Int(int64(s.Epochs))
	}
	if s.BatchSize > 0 {
		hp.BatchSize.OfInt = openai.Int(int64(s.BatchSize))
	}
	if s.LRMultiplier > 0 {
		hp.LearningRateMultiplier.OfFloat = openai.Float(s.LRMultiplier)
	}
	params.Method = openai.FineTuningJobNewParamsMethod{
		Type:       "supervised",
		Supervised: openai.SupervisedMethodParam{Hyperparameters: hp},
	}
	job, err := c.api.FineTuning.Jobs.New(ctx, params)
	if err != nil {
		return cleanup(c.fail("create fine-tuning job on "+s.BaseModel, err))
	}
	return fromSDK(job), nil
}

func (s Spec) validate() error {
	switch {
	case s.BaseModel == "":
		return errors.New("openai fine-tuning: no base model: name one, e.g. gpt-4o-mini-2024-07-18")
	case s.TrainFile == "":
		return errors.New("openai fine-tuning: no training file: export the train split as chat JSONL first")
	case len(s.Suffix) > 64:
		return fmt.Errorf("openai fine-tuning: suffix %q is %d characters: the API allows at most 64", s.Suffix, len(s.Suffix))
	case s.Epochs < 0 || s.BatchSize < 0 || s.LRMultiplier < 0:
		return fmt.Errorf("openai fine-tuning: epochs %d, batch size %d and learning rate multiplier %g must not be negative (0 = auto)", s.Epochs, s.BatchSize, s.LRMultiplier)
	}
	if err := checkChatJSONL(s.TrainFile); err != nil {
		return err
	}
	if s.ValidationFile != "" {
		return checkChatJSONL(s.ValidationFile)
	}
	return nil
}

func (c *Client) upload(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("openai fine-tuning: upload %s: %w", path, err)
	}
	defer f.Close()
	// The API refuses fine-tune files whose name does not end in .jsonl;
	// the content was checked above, so a .txt export is renamed, not lost.
	name := filepath.Base(path)
	if !strings.HasSuffix(name, ".jsonl") {
		name += ".jsonl"
	}
	obj, err := c.api.Files.New(ctx, openai.FileNewParams{
		File:    openai.File(f, name, "application/jsonl"),
		Purpose: openai.FilePurposeFineTune,
	})
	if err != nil {
		return "", c.fail("upload "+path, err)
	}
	return obj.ID, nil
}

// Get reads a job's current state.
func (c *Client) Get(ctx context.Context, id string) (Job, error) {
	job, err := c.api.FineTuning.Jobs.Get(ctx, id)
	if err != nil {
		return Job{}, c.fail("get fine-tuning job "+id, err)
	}
	return fromSDK(job), nil
}

// Cancel stops a job that has not ended.
func (c *Client) Cancel(ctx context.Context, id string) (Job, error) {
	job, err := c.api.FineTuning.Jobs.Cancel(ctx, id)
	if err != nil {
		return Job{}, c.fail("cancel fine-tuning job "+id, err)
	}
	return fromSDK(job), nil
}

// Wait polls the job every poll until it has ended, calling onEvent (when
// not nil) once for each event, oldest first, as they appear. It returns
// the final job; a failed or cancelled job is not an error here, the
// caller reads Status and Error. poll 0 reads back to back, for tests
// against a fake; against the real API a minute or so is plenty.
func (c *Client) Wait(ctx context.Context, id string, poll time.Duration, onEvent func(Event)) (Job, error) {
	last := ""
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return Job{}, fmt.Errorf("wait for fine-tuning job %s: %w", id, ctx.Err())
		case <-timer.C:
		}
		// The job is read before its events, so when it is done every
		// event it produced is already listed.
		job, err := c.Get(ctx, id)
		if err != nil {
			return Job{}, err
		}
		evs, err := c.Events(ctx, id, last)
		if err != nil {
			return Job{}, err
		}
		for _, ev := range evs {
			if onEvent != nil {
				onEvent(ev)
			}
			last = ev.ID
		}
		if job.Done() {
			return job, nil
		}
		timer.Reset(poll)
	}
}

func fromSDK(j *openai.FineTuningJob) Job {
	out := Job{
		ID:             j.ID,
		Status:         string(j.Status),
		Model:          j.Model,
		FineTunedModel: j.FineTunedModel,
		TrainedTokens:  j.TrainedTokens,
		CreatedAt:      unix(j.CreatedAt),
		FinishedAt:     unix(j.FinishedAt),
	}
	if e := j.Error; e.Message != "" || e.Code != "" {
		out.Error = e.Message
		if e.Code != "" {
			out.Error = e.Code + ": " + e.Message
		}
		if e.Param != "" {
			out.Error += " (field " + e.Param + ")"
		}
	}
	return out
}

func unix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// fail turns an SDK error into one that says what went wrong and what to
// do, with the key scrubbed from anything the server echoed.
func (c *Client) fail(op string, err error) error {
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		return &Error{Op: op, Message: redact(err.Error(), c.key), Err: err}
	}
	e := &Error{Op: op, Status: apiErr.StatusCode, Code: apiErr.Code, Message: redact(apiErr.Message, c.key), Err: err}
	switch {
	case e.Status == http.StatusUnauthorized:
		e.Hint = "check OPENAI_API_KEY"
	case e.Status == http.StatusForbidden:
		e.Hint = "the key's project may not use fine-tuning or this model; check its permissions"
	case e.Status == http.StatusNotFound:
		e.Hint = "check the job or file id and that the key belongs to the project that owns it"
	case e.Status == http.StatusTooManyRequests:
		e.Hint = "rate limit or quota reached; wait, or check the account's billing and limits"
	case e.Status >= 500:
		e.Hint = "the API failed on its side; try again later"
	}
	return e
}

// Error is a failed fine-tuning API call.
type Error struct {
	Op      string // what was being done, e.g. "create fine-tuning job on gpt-4o-mini"
	Status  int    // HTTP status, 0 when no answer came
	Code    string // the API's error code, when it gave one
	Message string // the API's message, or the transport error
	Hint    string // what to do about it
	Err     error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("openai fine-tuning: " + e.Op + ": ")
	if e.Status != 0 {
		fmt.Fprintf(&b, "%d %s: ", e.Status, http.StatusText(e.Status))
	}
	b.WriteString(e.Message)
	if e.Hint != "" {
		b.WriteString(" (" + e.Hint + ")")
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func redact(s, key string) string {
	if key == "" {
		return s
	}
	return strings.ReplaceAll(s, key, "[redacted]")
}
