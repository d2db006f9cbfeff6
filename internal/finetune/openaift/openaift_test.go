package openaift_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/finetune/openaift"
	"github.com/tunelab/tunelab/internal/finetune/openaift/openaitest"
)

const base = "gpt-4o-mini-2024-07-18"

func client(t *testing.T, srv *openaitest.Server, key string) *openaift.Client {
	t.Helper()
	c, err := openaift.New(key, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func seed(v int64) *int64 { return &v }

// TestRun starts a job and waits for it, checking what the client sent,
// the events it delivered and the job it ended with.
func TestRun(t *testing.T) {
	cases := []struct {
		name    string
		opts    []openaitest.Option
		spec    openaift.Spec
		wantErr []string // substrings of Start's error; nil = Start succeeds
		check   func(t *testing.T, srv *openaitest.Server, job openaift.Job, evs []openaift.Event)
	}{
		{
			name: "succeeds with settings and validation",
			spec: openaift.Spec{BaseModel: base, TrainFile: "testdata/train.jsonl", ValidationFile: "testdata/valid.jsonl",
				Suffix: "tickets", Epochs: 2, BatchSize: 4, LRMultiplier: 0.5, Seed: seed(7)},
			check: func(t *testing.T, srv *openaitest.Server, job openaift.Job, evs []openaift.Event) {
				if job.Status != "succeeded" || !job.Done() {
					t.Fatalf("status %q, want succeeded", job.Status)
				}
				wantModel := fmt.Sprintf("ft:%s:tunelab:tickets:%s", base, strings.TrimPrefix(job.ID, "ftjob-"))
				if job.FineTunedModel != wantModel {
					t.Errorf("fine-tuned model %q, want %q", job.FineTunedModel, wantModel)
				}
				// 18 words in train.jsonl (the fake counts words as tokens), 2 epochs.
				if job.TrainedTokens != 36 {
					t.Errorf("trained tokens %d, want 36", job.TrainedTokens)
				}
				if job.FinishedAt.IsZero() || !job.FinishedAt.After(job.CreatedAt) {
					t.Errorf("finished %v, created %v: want finished after created", job.FinishedAt, job.CreatedAt)
				}
				body := srv.JobRequests()[0]
				hp := body["method"].(map[string]any)["supervised"].(map[string]any)["hyperparameters"].(map[string]any)
				if hp["n_epochs"] != 2.0 || hp["batch_size"] != 4.0 || hp["learning_rate_multiplier"] != 0.5 {
					t.Errorf("hyperparameters %v, want n_epochs 2, batch_size 4, learning_rate_multiplier 0.5", hp)
				}
				if body["seed"] != 7.0 || body["suffix"] != "tickets" || body["model"] != base {
					t.Errorf("seed %v suffix %v model %v", body["seed"], body["suffix"], body["model"])
				}
				if _, ok := body["hyperparameters"]; ok {
					t.Error("sent the deprecated top-level hyperparameters")
				}
				if v, _ := body["validation_file"].(string); !strings.HasPrefix(v, "file-") {
					t.Errorf("validation_file %v, want an uploaded file id", body["validation_file"])
				}
				if n := srv.Requests("POST /files"); n != 2 {
					t.Errorf("%d uploads, want 2", n)
				}
				checkMetrics(t, evs, 3, true)
			},
		},
		{
			name: "auto settings send no hyperparameters",
			spec: openaift.Spec{BaseModel: base, TrainFile: "testdata/train.jsonl"},
			check: func(t *testing.T, srv *openaitest.Server, job openaift.Job, evs []openaift.Event) {
				body := srv.JobRequests()[0]
				m := body["method"].(map[string]any)
				if m["type"] != "supervised" {
					t.Errorf("method %v, want type supervised", m)
				}
				if sup, ok := m["supervised"].(map[string]any); ok && sup["hyperparameters"] != nil {
					t.Errorf("sent hyperparameters %v for an all-auto spec", sup["hyperparameters"])
				}
				for _, k := range []string{"seed", "suffix", "validation_file"} {
					if _, ok := body[k]; ok {
						t.Errorf("sent %s = %v, want it left out", k, body[k])
					}
				}
				if job.FineTunedModel != fmt.Sprintf("ft:%s:tunelab::%s", base, strings.TrimPrefix(job.ID, "ftjob-")) {
					t.Errorf("fine-tuned model %q", job.FineTunedModel)
				}
				checkMetrics(t, evs, 3, false)
			},
		},
		{
			name: "a file not named .jsonl is uploaded as .jsonl",
			spec: openaift.Spec{BaseModel: base, TrainFile: "testdata/train.txt"},
			check: func(t *testing.T, srv *openaitest.Server, job openaift.Job, evs []openaift.Event) {
				if job.Status != "succeeded" {
					t.Errorf("status %q, want succeeded", job.Status)
				}
			},
		},
		{
			name: "job fails during training",
			opts: []openaitest.Option{openaitest.FailAt(2, "invalid_training_file", "Training file has too few examples")},
			spec: openaift.Spec{BaseModel: base, TrainFile: "testdata/train.jsonl"},
			check: func(t *testing.T, srv *openaitest.Server, job openaift.Job, evs []openaift.Event) {
				if job.Status != "failed" || !job.Done() || job.FineTunedModel != "" {
					t.Fatalf("job %+v, want failed with no model", job)
				}
				if job.Error != "invalid_training_file: Training file has too few examples" {
					t.Errorf("error %q", job.Error)
				}
				checkMetrics(t, evs, 2, false)
				if last := evs[len(evs)-1]; last.Level != "error" {
					t.Errorf("last event %+v, want level error", last)
				}
			},
		},
		{
			name:    "wrong key",
			opts:    []openaitest.Option{openaitest.WithKey("sk-the-right-one")},
			spec:    openaift.Spec{BaseModel: base, TrainFile: "testdata/train.jsonl"},
			wantErr: []string{"401", "check OPENAI_API_KEY", "upload testdata/train.jsonl"},
		},
		{
			name:    "file the API rejects",
			spec:    openaift.Spec{BaseModel: base, TrainFile: "testdata/bad_role.jsonl"},
			wantErr: []string{"400", `line 2: message 0 has invalid role "robot"`},
		},
		{
			name:    "file that is not JSONL is refused before upload",
			spec:    openaift.Spec{BaseModel: base, TrainFile: "testdata/not_json.jsonl"},
			wantErr: []string{"testdata/not_json.jsonl:2", "chat JSONL"},
		},
		{
			name:    "rows without messages are refused before upload",
			spec:    openaift.Spec{BaseModel: base, TrainFile: "testdata/no_messages.jsonl"},
			wantErr: []string{"testdata/no_messages.jsonl:1", "messages"},
		},
		{
			name:    "model not available",
			opts:    []openaitest.Option{openaitest.WithModels("gpt-4.1-mini-2025-04-14")},
			spec:    openaift.Spec{BaseModel: base, TrainFile: "testdata/train.jsonl", ValidationFile: "testdata/valid.jsonl"},
			wantErr: []string{"create fine-tuning job on " + base, "400", "Model " + base + " is not available for fine-tuning"},
		},
		{
			name:    "no base model",
			spec:    openaift.Spec{TrainFile: "testdata/train.jsonl"},
			wantErr: []string{"no base model"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := openaitest.New(t, tc.opts...)
			c := client(t, srv, openaitest.DefaultKey)
			ctx := context.Background()
			job, err := c.Start(ctx, tc.spec)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("Start succeeded with job %+v, want an error", job)
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
				if strings.Contains(err.Error(), openaitest.DefaultKey) {
					t.Errorf("error %q shows the key", err)
				}
				if files := srv.Files(); len(files) != 0 {
					t.Errorf("files %v left on the server after a failed start", files)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if job.Status != "validating_files" || job.Model != base || job.Done() {
				t.Fatalf("started job %+v, want validating_files on %s", job, base)
			}
			var evs []openaift.Event
			final, err := c.Wait(ctx, job.ID, 0, func(ev openaift.Event) { evs = append(evs, ev) })
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]bool{}
			for i, ev := range evs {
				if seen[ev.ID] {
					t.Errorf("event %s delivered twice", ev.ID)
				}
				seen[ev.ID] = true
				if i > 0 && ev.CreatedAt.Before(evs[i-1].CreatedAt) {
					t.Errorf("event %d (%s) is older than the one before: want oldest first", i, ev.ID)
				}
			}
			tc.check(t, srv, final, evs)
		})
	}
}

// checkMetrics asserts the metrics events carry steps 1..n and the fake's
// losses.
func checkMetrics(t *testing.T, evs []openaift.Event, n int, valid bool) {
	t.Helper()
	step := 0
	for _, ev := range evs {
		if ev.TrainLoss == nil {
			if ev.Step != 0 {
				t.Errorf("event %q has step %d but no loss", ev.Message, ev.Step)
			}
			continue
		}
		step++
		if ev.Step != step || *ev.TrainLoss != openaitest.TrainLoss(step) {
			t.Errorf("metrics event %q: step %d loss %g, want step %d loss %g", ev.Message, ev.Step, *ev.TrainLoss, step, openaitest.TrainLoss(step))
		}
		switch {
		case valid && (ev.ValidLoss == nil || *ev.ValidLoss != openaitest.ValidLoss(step)):
			t.Errorf("step %d: validation loss %v, want %g", step, ev.ValidLoss, openaitest.ValidLoss(step))
		case !valid && ev.ValidLoss != nil:
			t.Errorf("step %d: validation loss %g without a validation file", step, *ev.ValidLoss)
		}
	}
	if step != n {
		t.Errorf("%d metrics events, want %d", step, n)
	}
}

func TestCancel(t *testing.T) {
	cases := []struct {
		name    string
		polls   int // Gets before the cancel
		wantErr string
	}{
		{name: "while validating", polls: 0},
		{name: "while running", polls: 3},
		{name: "after success", polls: 10, wantErr: "has already completed with status succeeded"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := openaitest.New(t)
			c := client(t, srv, openaitest.DefaultKey)
			ctx := context.Background()
			job, err := c.Start(ctx, openaift.Spec{BaseModel: base, TrainFile: "testdata/train.jsonl"})
			if err != nil {
				t.Fatal(err)
			}
			for range tc.polls {
				if _, err := c.Get(ctx, job.ID); err != nil {
					t.Fatal(err)
				}
			}
			got, err := c.Cancel(ctx, job.ID)
			if tc.wantErr != "" {
				var apiErr *openaift.Error
				if !errors.As(err, &apiErr) || apiErr.Status != 400 || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want a 400 saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != "cancelled" || !got.Done() || got.FinishedAt.IsZero() {
				t.Fatalf("after cancel %+v, want cancelled and finished", got)
			}
			// A cancelled job stays cancelled however often it is read.
			again, err := c.Wait(ctx, job.ID, 0, nil)
			if err != nil || again.Status != "cancelled" {
				t.Fatalf("after wait: %+v, %v; want cancelled", again, err)
			}
			if n := srv.Requests("POST /fine_tuning/jobs/{id}/cancel"); n != 1 {
				t.Errorf("%d cancel requests, want 1", n)
			}
		})
	}
}

// TestEvents reads a log longer than one page, whole and from a cursor.
func TestEvents(t *testing.T) {
	srv := openaitest.New(t, openaitest.WithSteps(150))
	c := client(t, srv, openaitest.DefaultKey)
	ctx := context.Background()
	job, err := c.Start(ctx, openaift.Spec{BaseModel: base, TrainFile: "testdata/train.jsonl"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Wait(ctx, job.ID, 0, nil); err != nil {
		t.Fatal(err)
	}
	all, err := c.Events(ctx, job.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	// created, validating, validated, started, 150 steps, model, completed.
	if len(all) != 156 {
		t.Fatalf("%d events, want 156", len(all))
	}
	cases := []struct {
		name  string
		after string
		want  int
	}{
		{name: "from the start", after: "", want: 156},
		{name: "after the first", after: all[0].ID, want: 155},
		{name: "after step 100", after: all[103].ID, want: 52},
		{name: "after the last", after: all[155].ID, want: 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.Events(ctx, job.ID, tc.after)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.want {
				t.Fatalf("%d events, want %d", len(got), tc.want)
			}
			for i, ev := range got {
				if want := all[len(all)-tc.want+i]; ev.ID != want.ID {
					t.Fatalf("event %d is %s, want %s", i, ev.ID, want.ID)
				}
			}
		})
	}
	if all[103].Step != 100 || all[103].TrainLoss == nil {
		t.Errorf("event 103 %+v, want step 100 with a loss", all[103])
	}
}

func TestErrors(t *testing.T) {
	srv := openaitest.New(t)
	ctx := context.Background()
	cases := []struct {
		name string
		key  string
		call func(c *openaift.Client) error
		want []string
	}{
		{name: "unknown job", key: openaitest.DefaultKey, call: func(c *openaift.Client) error { _, err := c.Get(ctx, "ftjob-nope"); return err },
			want: []string{"get fine-tuning job ftjob-nope", "404", "Could not find fine-tuning job"}},
		{name: "wrong key on get", key: "sk-wrong-key-123", call: func(c *openaift.Client) error { _, err := c.Get(ctx, "ftjob-1"); return err },
			want: []string{"401", "check OPENAI_API_KEY", "Incorrect API key"}},
		{name: "wrong key on events", key: "sk-wrong-key-123", call: func(c *openaift.Client) error { _, err := c.Events(ctx, "ftjob-1", ""); return err },
			want: []string{"list events", "401"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call(client(t, srv, tc.key))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), tc.key) {
				t.Errorf("error %q shows the key", err)
			}
		})
	}
	if _, err := openaift.New("", "", nil); err == nil || !strings.Contains(err.Error(), "OPENAI_API_KEY") {
		t.Errorf("New without a key: %v, want an error naming OPENAI_API_KEY", err)
	}
}
