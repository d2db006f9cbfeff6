package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/finetune"
	"github.com/tunelab/tunelab/internal/store"
	"github.com/tunelab/tunelab/internal/store/postgres/pgtest"
)

// TestQueuedTuneMovesBetweenWorkers queues a tuning job, lets one worker
// train it until its first checkpoint is in the store, kills that worker
// with SIGKILL, and lets a worker in another copy of the lab finish it. The
// adapter the coordinator fetches must equal an uninterrupted local job's,
// and a worker that never trained it must fetch the tuned model from the
// store to evaluate it.
func TestQueuedTuneMovesBetweenWorkers(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model through two workers: skipped with -short")
	}
	dsn := pgtest.DSN(t)
	tuneArgs := []string{"--base", "local:tiny", "--epochs", "2", "--rank", "4", "--max-tokens", "512", "--threads", "1"}
	labs := map[string]string{}
	for _, name := range []string{"coordinator", "worker 1", "worker 2", "uninterrupted"} {
		labs[name] = smallTuneLab(t)
	}
	// Short rescue and slices (half of it): a killed worker's job moves on
	// in seconds, and every worker trains in several slices.
	common := []string{"--store", dsn, "--rescue-after", "12s"}
	coord := &proc{name: "coordinator", dir: labs["coordinator"],
		args: append([]string{"tune", "--queue", "--store", dsn, "--poll", "200ms", "--quiet"}, tuneArgs...)}
	worker := func(name string) *proc {
		return &proc{name: name, dir: labs[name], args: append([]string{"worker", "--threads", "1", "--concurrency", "2"}, common...)}
	}
	w1, w2 := worker("worker 1"), worker("worker 2")
	start := time.Now()
	coord.start(t)
	defer func() { _ = coord.cmd.Process.Signal(syscall.SIGKILL) }()

	// The job id, from the coordinator's "queued job ft-..." line.
	jobRE := regexp.MustCompile(`queued job (ft-[0-9a-f]+)`)
	var id string
	waitFor(t, "the coordinator to queue the job", coord, func() bool {
		m := jobRE.FindStringSubmatch(coord.out.String())
		if m != nil {
			id = m[1]
		}
		return m != nil
	})
	w1.start(t)
	defer func() { _ = w1.cmd.Process.Signal(syscall.SIGKILL) }()

	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	waitFor(t, "worker 1's first checkpoint in the store", coord, func() bool {
		_, err := st.Artifact(context.Background(), finetune.JobArtifact(id, "checkpoint.gguf"))
		return err == nil
	})
	t.Logf("%s: worker 1 checkpointed job %s; killing it", time.Since(start).Round(time.Second), id)
	w1.kill(t)
	if _, err := st.Artifact(context.Background(), finetune.JobArtifact(id, "job.json")); err == nil {
		t.Fatal("worker 1 finished the job before it was killed; the test needs a longer job")
	}
	w2.start(t)
	defer func() { _ = w2.cmd.Process.Signal(syscall.SIGKILL) }()

	select {
	case err := <-coord.done:
		if err != nil {
			t.Fatalf("coordinator: %v\n%s\nworker 2:\n%s", err, coord.out.String(), w2.out.String())
		}
	case <-time.After(4 * time.Minute):
		t.Fatalf("the job did not finish\ncoordinator:\n%s\nworker 1:\n%s\nworker 2:\n%s", coord.out.String(), w1.out.String(), w2.out.String())
	}
	if !strings.Contains(w2.out.String(), "resuming from the store's checkpoint") {
		t.Errorf("worker 2 did not resume from worker 1's checkpoint:\n%s", w2.out.String())
	}
	out := coord.out.String()
	if !strings.Contains(out, "tuned local:tiny: local:tiny-tuned (job "+id) || !strings.Contains(out, "trained by") {
		t.Fatalf("coordinator output:\n%s", out)
	}
	t.Logf("%s: worker 2 finished the job", time.Since(start).Round(time.Second))
	job := onlyJob(t, labs["coordinator"])
	if job.Status != finetune.StatusSucceeded || job.Result == nil || !job.Result.Resumed {
		t.Fatalf("the coordinator's record of job %s: status %s, result %+v", job.ID, job.Status, job.Result)
	}

	// The same job trained in one go, in one process.
	if r := tunelab(t, labs["uninterrupted"], nil, append([]string{"tune"}, tuneArgs...)...); r.code != 0 {
		t.Fatalf("uninterrupted tune exit %d: %s", r.code, r.stderr)
	}
	t.Logf("%s: trained uninterrupted", time.Since(start).Round(time.Second))
	for _, file := range []string{"tiny-tuned.lora.gguf", "tiny-tuned.gguf"} {
		a, _ := os.ReadFile(filepath.Join(labs["coordinator"], "models", file))
		b, _ := os.ReadFile(filepath.Join(labs["uninterrupted"], "models", file))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s fetched from the queue (%d bytes) differs from an uninterrupted job's (%d bytes)", file, len(a), len(b))
		}
	}

	t.Run("queuing a finished job again reuses it", func(t *testing.T) {
		r := tunelab(t, labs["coordinator"], nil, append([]string{"tune", "--queue", "--store", dsn}, tuneArgs...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "reused") || strings.Contains(r.stderr, "queued job") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("another copy of the lab fetches the result", func(t *testing.T) {
		// worker 1's lab never finished the job.
		r := tunelab(t, labs["worker 1"], nil, append([]string{"tune", "--queue", "--store", dsn}, tuneArgs...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "fetched from the store") {
			t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("a worker fetches the tuned model to evaluate it", func(t *testing.T) {
		w2.kill(t)
		// A third copy of the lab, without the tuned model, works the calls.
		fresh := smallTuneLab(t)
		labs["worker 3"] = fresh
		w3 := worker("worker 3")
		// Calls on a cold model can take seconds on a loaded machine: give
		// them far more than the test's short tuning slices.
		w3.args[len(w3.args)-1] = "2m"
		w3.start(t)
		defer func() { _ = w3.cmd.Process.Signal(syscall.SIGKILL) }()
		r := tunelab(t, labs["coordinator"], nil, "eval", "--queue", "--local-workers", "0", "--store", dsn,
			"--model", "local:tiny-tuned", "--limit", "3", "--quiet", "--json", "tuned.json")
		if r.code != 0 {
			t.Fatalf("eval exit %d: %s\nworker 3:\n%s", r.code, r.stderr, w3.out.String())
		}
		res := readResults(t, filepath.Join(labs["coordinator"], "tuned.json"))
		if !res.Summary.Complete || len(res.Results) == 0 {
			t.Fatalf("%d results, complete=%v", len(res.Results), res.Summary.Complete)
		}
		if _, err := os.Stat(filepath.Join(fresh, "models", "tiny-tuned.gguf")); err != nil {
			t.Fatalf("worker 3 has no tuned model: %v", err)
		}
	})
	t.Run("cancelling a queued job", func(t *testing.T) {
		// Another job (one epoch more) that no worker takes.
		args := []string{"tune", "--queue", "--store", dsn, "--poll", "200ms", "--quiet",
			"--base", "local:tiny", "--epochs", "3", "--rank", "4", "--max-tokens", "512", "--threads", "1"}
		c := &proc{name: "coordinator 2", dir: labs["coordinator"], args: args}
		c.start(t)
		var id2 string
		waitFor(t, "the second job to be queued", c, func() bool {
			m := jobRE.FindStringSubmatch(c.out.String())
			if m != nil {
				id2 = m[1]
			}
			return m != nil
		})
		r := tunelab(t, labs["coordinator"], nil, "tune", "cancel", id2, "--store", dsn)
		if r.code != 0 {
			t.Fatalf("cancel exit %d: %s", r.code, r.stderr)
		}
		select {
		case <-c.done:
		case <-time.After(time.Minute):
			t.Fatalf("the coordinator kept following a cancelled job:\n%s", c.out.String())
		}
		if !strings.Contains(c.out.String(), "cancelled") {
			t.Fatalf("coordinator output:\n%s", c.out.String())
		}
	})
}

// waitFor polls cond until it holds, failing if p exits first or two
// minutes pass.
func waitFor(t *testing.T, what string, p *proc, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		select {
		case err := <-p.done:
			t.Fatalf("%s ended while waiting for %s: %v\n%s", p.name, what, err, p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 2 minutes\n%s:\n%s", what, p.name, p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// smallTuneLab is the example lab cut down so a tuning job takes seconds
// and still spans several checkpoints (every 20 steps): 80 train rows
// (68 after the validation split, 17 steps an epoch), one prompt, short
// answers, and the tiny generated base model.
func smallTuneLab(t *testing.T) string {
	t.Helper()
	dir := newLab(t)
	tinyBase(t, dir)
	train := filepath.Join(dir, "data", "train.jsonl")
	raw, err := os.ReadFile(train)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(raw), "\n")
	if err := os.WriteFile(train, []byte(strings.Join(lines[:80], "")), 0o644); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "tunelab.yaml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(cfg)
	from, to := strings.Index(text, "\nprompts:\n"), strings.Index(text, "\nscorers:\n")
	if from < 0 || to < from || !strings.Contains(text, "max_tokens: 64") {
		t.Fatal("the example's tunelab.yaml changed shape; update smallTuneLab")
	}
	text = text[:from] + "\nprompts:\n  - technique: zero-shot\n" + text[to:]
	text = strings.Replace(text, "max_tokens: 64", "max_tokens: 8", 1)
	if err := os.WriteFile(cfgPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}
