package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/finetune"
	"github.com/tunelab/tunelab/internal/finetune/openaift/openaitest"
	"github.com/tunelab/tunelab/internal/gguf"
)

// tinyBase puts a small generated model in the lab as local:tiny, so tune
// tests take seconds.
func tinyBase(t *testing.T, dir string) {
	t.Helper()
	cfg := gguf.Tiny()
	cfg.Name = "tiny"
	// The tiny vocabulary spells the example's prompts in many tokens.
	cfg.ContextLength = 2048
	if err := os.MkdirAll(filepath.Join(dir, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := gguf.GenerateLlama(filepath.Join(dir, "models", "tiny.gguf"), cfg); err != nil {
		t.Fatal(err)
	}
}

func onlyJob(t *testing.T, dir string) *finetune.Job {
	t.Helper()
	list, err := finetune.Jobs{Dir: filepath.Join(dir, ".tunelab", "jobs")}.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("%d jobs (%v), want 1", len(list), err)
	}
	return list[0]
}

func TestTuneKillAndResume(t *testing.T) {
	args := []string{"tune", "--base", "local:tiny", "--epochs", "2", "--rank", "4", "--max-tokens", "512", "--threads", "1"}
	dir := newLab(t)
	tinyBase(t, dir)

	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TUNELAB_RUN_MAIN=1", "CI=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // killed below: its exit status is the signal
		close(exited)
	}()
	// Kill it once the first checkpoint is on disk.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ckpts, _ := filepath.Glob(filepath.Join(dir, ".tunelab", "jobs", "*", "checkpoint.gguf"))
		if len(ckpts) > 0 {
			break
		}
		select {
		case <-exited:
			t.Fatalf("tune ended before its first checkpoint: %s", stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint after 2 minutes: %s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	if st := tunelab(t, dir, nil, "tune", "status"); !strings.Contains(st.stdout, "interrupted") {
		t.Errorf("status of a killed job: %q, want interrupted", st.stdout)
	}

	r := tunelab(t, dir, nil, args...)
	if r.code != 0 {
		t.Fatalf("resumed tune exit %d: %s", r.code, r.stderr)
	}
	job := onlyJob(t, dir)
	if job.Status != finetune.StatusSucceeded || !job.Result.Resumed || job.Model != "local:tiny-tuned" {
		t.Fatalf("job %s: status %s, resumed %v, model %q", job.ID, job.Status, job.Result.Resumed, job.Model)
	}

	// An uninterrupted run in a fresh lab learns the same adapter.
	fresh := newLab(t)
	tinyBase(t, fresh)
	if r := tunelab(t, fresh, nil, args...); r.code != 0 {
		t.Fatalf("fresh tune exit %d: %s", r.code, r.stderr)
	}
	a, _ := os.ReadFile(filepath.Join(dir, "models", "tiny-tuned.lora.gguf"))
	b, _ := os.ReadFile(filepath.Join(fresh, "models", "tiny-tuned.lora.gguf"))
	if len(a) == 0 || !bytes.Equal(a, b) {
		t.Error("the resumed job's adapter differs from an uninterrupted job's")
	}

	t.Run("a finished job is reused", func(t *testing.T) {
		r := tunelab(t, dir, nil, args...)
		if r.code != 0 || strings.Contains(r.stderr, "step ") {
			t.Fatalf("exit %d, trained again: %s", r.code, r.stderr)
		}
	})
	t.Run("the tuned model evaluates", func(t *testing.T) {
		r := tunelab(t, dir, nil, "eval", "--model", "local:tiny-tuned", "--limit", "1", "--json", "tuned.json")
		if r.code != 0 {
			t.Fatalf("eval exit %d: %s", r.code, r.stderr)
		}
		raw, _ := os.ReadFile(filepath.Join(dir, "tuned.json"))
		if !json.Valid(raw) {
			t.Fatal("eval wrote no valid results")
		}
	})
	t.Run("full fine-tuning registers a model without an adapter", func(t *testing.T) {
		r := tunelab(t, dir, nil, "tune", "--base", "local:tiny", "--full", "--epochs", "1", "--max-tokens", "512", "--threads", "1", "--name", "tiny-full")
		if r.code != 0 || !strings.Contains(r.stderr, "full fine-tuning") {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "models", "tiny-full.gguf")); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "models", "tiny-full.lora.gguf")); err == nil {
			t.Error("full fine-tuning wrote an adapter")
		}
	})
	t.Run("logs show the epochs", func(t *testing.T) {
		r := tunelab(t, dir, nil, "tune", "logs", job.ID)
		if r.code != 0 || !strings.Contains(r.stdout, "validation loss") {
			t.Fatalf("logs exit %d: %s", r.code, r.stdout)
		}
	})
}

func TestTuneUserErrors(t *testing.T) {
	dir := newLab(t)
	tinyBase(t, dir)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"missing base model", []string{"tune", "--base", "local:nope"}, "nope.gguf"},
		{"remote base on the local backend", []string{"tune", "--base", "openai:gpt-4o-mini"}, "tunes local models"},
		{"few-shot prompt", []string{"tune", "--base", "local:tiny", "--prompt", "few-shot-nearest"}, "few-shot"},
		{"unknown prompt", []string{"tune", "--base", "local:tiny", "--prompt", "nope"}, "no prompt variant"},
		{"unknown job", []string{"tune", "status", "ft-000"}, "no such job"},
		{"cancel a job that is not running", []string{"tune", "cancel", "ft-000"}, "no such job"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tunelab(t, dir, nil, tc.args...)
			if r.code != exitUser || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q", r.code, r.stderr, exitUser, tc.want)
			}
		})
	}
}

func TestTuneOpenAI(t *testing.T) {
	srv := openaitest.New(t, openaitest.WithModels("gpt-4o-mini-2024-07-18"))
	dir := newLab(t)
	env := []string{"OPENAI_API_KEY=" + openaitest.DefaultKey}
	args := []string{"tune", "--backend", "openai", "--base", "openai:gpt-4o-mini-2024-07-18", "--api-base", srv.URL, "--poll", "5ms"}
	r := tunelab(t, dir, env, args...)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "openai:ft:gpt-4o-mini-2024-07-18:") {
		t.Errorf("stdout %q names no fine-tuned model", r.stdout)
	}
	job := onlyJob(t, dir)
	if job.Status != finetune.StatusSucceeded || job.Provider == "" || len(job.Result.Train) == 0 {
		t.Errorf("job: status %s, provider job %q, %d loss points", job.Status, job.Provider, len(job.Result.Train))
	}
	creates := srv.Requests("POST /fine_tuning/jobs")
	t.Run("a second run reuses the job", func(t *testing.T) {
		if r := tunelab(t, dir, env, args...); r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if n := srv.Requests("POST /fine_tuning/jobs"); n != creates {
			t.Errorf("%d job creations after a rerun, want %d", n, creates)
		}
	})
	cases := []struct {
		name string
		env  []string
		args []string
		want string
	}{
		{"no key", []string{"OPENAI_API_KEY="}, args, "OPENAI_API_KEY"},
		{"wrong key", []string{"OPENAI_API_KEY=sk-wrong"}, append(slices.Clone(args), "--epochs", "2"), "401"},
		{"model without fine-tuning", env, []string{"tune", "--backend", "openai", "--base", "openai:gpt-9", "--api-base", srv.URL, "--poll", "5ms"}, "gpt-9"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := tunelab(t, dir, tc.env, tc.args...)
			if r.code != exitUser || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d mentioning %q", r.code, r.stderr, exitUser, tc.want)
			}
		})
	}
}

// Cancelling an OpenAI job cancels it at the provider and stops the
// process watching it.
func TestTuneOpenAICancel(t *testing.T) {
	srv := openaitest.New(t, openaitest.WithSteps(1000))
	dir := newLab(t)
	cmd := exec.Command(os.Args[0], "tune", "--backend", "openai", "--base", "openai:gpt-4o-mini-2024-07-18", "--api-base", srv.URL, "--poll", "20ms")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TUNELAB_RUN_MAIN=1", "CI=1", "OPENAI_API_KEY="+openaitest.DefaultKey)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(time.Minute)
	var job *finetune.Job
	for job == nil || job.Provider == "" {
		if time.Now().After(deadline) {
			t.Fatal("the job was not created at the provider within a minute")
		}
		time.Sleep(20 * time.Millisecond)
		if list, _ := (finetune.Jobs{Dir: filepath.Join(dir, ".tunelab", "jobs")}).List(); len(list) == 1 {
			job = list[0]
		}
	}
	env := []string{"OPENAI_API_KEY=" + openaitest.DefaultKey}
	if r := tunelab(t, dir, env, "tune", "cancel", job.ID, "--api-base", srv.URL); r.code != 0 {
		t.Fatalf("cancel exit %d: %s", r.code, r.stderr)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatal("the watching process did not stop")
	}
	if n := srv.Requests("POST /fine_tuning/jobs/{id}/cancel"); n != 1 {
		t.Errorf("%d cancel requests at the provider, want 1", n)
	}
	if job = onlyJob(t, dir); job.Status != finetune.StatusCancelled {
		t.Errorf("job status %s, want cancelled", job.Status)
	}
}

func TestTuneExport(t *testing.T) {
	dir := newLab(t)
	r := tunelab(t, dir, nil, "tune", "--backend", "export", "--hf-base", "HuggingFaceTB/SmolLM2-135M-Instruct", "--name", "gpu")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, f := range []string{"axolotl.yaml", "unsloth_train.py", "README.md", "tunelab-train.jsonl"} {
		if _, err := os.Stat(filepath.Join(dir, "export", "gpu", f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if !strings.Contains(r.stdout, "tunelab model import") {
		t.Errorf("stdout %q does not say how to bring the adapter back", r.stdout)
	}
}

// Two jobs registered under one name: going back to the first must bring
// its own model back, not reuse the file the second one wrote.
func TestTuneReusesOnlyItsOwnModel(t *testing.T) {
	dir := newLab(t)
	tinyBase(t, dir)
	args := []string{"tune", "--base", "local:tiny", "--epochs", "1", "--rank", "2", "--max-tokens", "512", "--threads", "1", "--quiet"}
	model := filepath.Join(dir, "models", "tiny-tuned.gguf")
	run := func(extra ...string) []byte {
		t.Helper()
		if r := tunelab(t, dir, nil, append(slices.Clone(args), extra...)...); r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		b, err := os.ReadFile(model)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	first := run()
	second := run("--lr", "0.01")
	if bytes.Equal(first, second) {
		t.Fatal("two different jobs wrote the same model")
	}
	if again := run(); !bytes.Equal(again, first) {
		t.Error("rerunning the first job left the second job's model in place")
	}
}
