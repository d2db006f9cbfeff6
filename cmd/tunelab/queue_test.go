package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/provider/providertest"
	"github.com/tunelab/tunelab/internal/store/postgres/pgtest"
)

// queueLab writes a lab of cases test cases whose inputs end with their
// label, two prompts, and model as its only model.
func queueLab(t *testing.T, cases int, model string) string {
	t.Helper()
	dir := t.TempDir()
	cfg := `task:
  name: queue-test
  description: Say the label the message ends with.
  output: label
  labels: [yes, no]
data:
  train: data/train.jsonl
  test: data/test.jsonl
models:
  - ` + model + `
prompts:
  - technique: zero-shot
  - name: terse
    technique: instructions
    instructions: Answer with one word.
`
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeText(t, filepath.Join(dir, "tunelab.yaml"), cfg)
	var train, test strings.Builder
	for i := range 20 {
		fmt.Fprintf(&train, `{"id":"t%d","input":"training message %d ends with %s","expected":"%s"}`+"\n", i, i, label(i), label(i))
	}
	for i := range cases {
		fmt.Fprintf(&test, `{"id":"c%05d","input":"message %d ends with %s","expected":"%s"}`+"\n", i, i, label(i), label(i))
	}
	writeText(t, filepath.Join(dir, "data", "train.jsonl"), train.String())
	writeText(t, filepath.Join(dir, "data", "test.jsonl"), test.String())
	return dir
}

func label(i int) string { return []string{"yes", "no"}[i%3%2] }

// lastWordUpstream answers every chat with the last word of its last
// message after a short wait, and counts how often each prompt came.
type lastWordUpstream struct {
	calls atomic.Int64
	mu    sync.Mutex
	seen  map[string]int
}

func (u *lastWordUpstream) answer(req providertest.ChatRequest) (string, *providertest.HTTPError) {
	time.Sleep(2 * time.Millisecond)
	b, _ := json.Marshal(req.Messages) // plain data always marshals
	u.mu.Lock()
	if u.seen == nil {
		u.seen = map[string]int{}
	}
	u.seen[string(b)]++
	u.mu.Unlock()
	u.calls.Add(1)
	last := req.Messages[len(req.Messages)-1].Content
	w := strings.Fields(last)
	return w[len(w)-1], nil
}

func (u *lastWordUpstream) repeated() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, c := range u.seen {
		n += c - 1
	}
	return n
}

// proc is a tunelab process the test may kill.
type proc struct {
	name string
	args []string
	dir  string
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan error
}

func (p *proc) start(t *testing.T) {
	t.Helper()
	p.cmd = exec.Command(os.Args[0], p.args...)
	p.cmd.Dir = p.dir
	p.cmd.Env = append(os.Environ(), "TUNELAB_RUN_MAIN=1", "CI=1")
	p.out = &syncBuffer{}
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	p.done = done
	go func(c *exec.Cmd) { done <- c.Wait() }(p.cmd)
}

func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.done
}

// TestQueueSurvivesKills runs 5,000 calls through the queue with a
// coordinator that works too and two workers, kills each of them with
// SIGKILL at random points and starts it again, and checks the results
// equal an uninterrupted run's: every call recorded once, none lost.
func TestQueueSurvivesKills(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000 calls and several restarts: skipped with -short")
	}
	dsn := pgtest.DSN(t)
	up := &lastWordUpstream{}
	srv := providertest.NewOpenAIServer(t, providertest.Text(up.answer))
	const cases = 2500 // two prompts: 5,000 calls
	dir := queueLab(t, cases, "openai-compatible:"+srv.URL+"#fake")
	common := []string{"--store", dsn, "--rescue-after", "3s"}
	coord := &proc{name: "coordinator", dir: dir, args: append([]string{"eval", "--queue", "--local-workers", "4", "--quiet", "--json", "out.json"}, common...)}
	workers := []*proc{
		{name: "worker 1", dir: dir, args: append([]string{"worker", "--concurrency", "4", "--quiet"}, common...)},
		{name: "worker 2", dir: dir, args: append([]string{"worker", "--concurrency", "4", "--quiet"}, common...)},
	}
	coord.start(t)
	for _, w := range workers {
		w.start(t)
		defer func(w *proc) {
			_ = w.cmd.Process.Signal(syscall.SIGKILL)
			<-w.done
		}(w)
	}

	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("kill schedule seed %d", seed)
	victims := []*proc{workers[0], coord, workers[1], coord, workers[0]}
	kills := map[string]int{}
	at := 0
	for i, v := range victims {
		at = 700*(i+1) + rng.IntN(400) - 200 // upstream calls before this kill
		deadline := time.Now().Add(2 * time.Minute)
		for up.calls.Load() < int64(at) {
			if time.Now().After(deadline) {
				t.Fatalf("stuck before kill %d at %d calls\ncoordinator:\n%s", i+1, up.calls.Load(), coord.out.String())
			}
			select {
			case err := <-coord.done:
				t.Fatalf("the coordinator ended before kill %d: %v\n%s", i+1, err, coord.out.String())
			default:
			}
			time.Sleep(2 * time.Millisecond)
		}
		v.kill(t)
		kills[v.name]++
		v.start(t)
	}
	select {
	case err := <-coord.done:
		if err != nil {
			t.Fatalf("coordinator: %v\n%s", err, coord.out.String())
		}
	case <-time.After(4 * time.Minute):
		t.Fatalf("the run did not finish; %d upstream calls\ncoordinator:\n%s", up.calls.Load(), coord.out.String())
	}

	res := readResults(t, filepath.Join(dir, "out.json"))
	if !res.Summary.Complete || len(res.Results) != 2*cases {
		t.Fatalf("%d results, complete=%v; want %d", len(res.Results), res.Summary.Complete, 2*cases)
	}
	seen := map[string]bool{}
	dup, wrong := 0, 0
	for _, r := range res.Results {
		key := r.CandidateID + "|" + r.CaseID
		if seen[key] {
			dup++
		}
		seen[key] = true
		var i int
		if _, err := fmt.Sscanf(r.CaseID, "c%05d", &i); err != nil || r.Answer != label(i) || !r.Pass {
			wrong++ // an uninterrupted run answers every case with its label
		}
	}
	lost := 2*cases - len(seen)
	if dup != 0 || lost != 0 || wrong != 0 {
		t.Errorf("duplicates %d, lost %d, answers unlike an uninterrupted run's %d", dup, lost, wrong)
	}
	redone := up.repeated()
	// A call is sent twice only when its process died before recording it:
	// at most the calls in flight at each kill (4 per process).
	if redone > 4*len(victims) {
		t.Errorf("%d calls were sent to the model more than once; want at most %d (those in flight at the kills)", redone, 4*len(victims))
	}
	t.Logf("calls %d, kills %d (workers %d, coordinator %d), lost %d, duplicates %d, sent twice %d, upstream requests %d",
		2*cases, len(victims), kills["worker 1"]+kills["worker 2"], kills["coordinator"], lost, dup, redone, up.calls.Load())
}
