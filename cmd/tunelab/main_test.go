package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/provider/providertest"
)

// The tests run the real binary: this test executable re-enters main when
// TUNELAB_RUN_MAIN is set, so a test can start tunelab as a child process,
// kill it with SIGKILL and start it again, exactly as a user would.
func TestMain(m *testing.M) {
	if os.Getenv("TUNELAB_RUN_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

type cliResult struct {
	stdout, stderr string
	code           int
}

func tunelab(t *testing.T, dir string, env []string, args ...string) cliResult {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "TUNELAB_RUN_MAIN=1", "CI=1"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return cliResult{out.String(), errb.String(), code}
}

// oracle answers like a model that is right on about two cases in three:
// it knows each test input's label and, for a fixed third of the inputs
// (by hash), names a different label.
type oracle struct {
	labels   []string
	expected map[string]string
}

func newOracle(t *testing.T, labDir string) *oracle {
	t.Helper()
	o := &oracle{expected: map[string]string{}}
	for _, f := range []string{"data/train.jsonl", "data/test.jsonl"} {
		fh, err := os.Open(filepath.Join(labDir, f))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		seen := map[string]bool{}
		for sc.Scan() {
			var row struct{ Input, Expected string }
			if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
				t.Fatal(err)
			}
			o.expected[row.Input] = row.Expected
			if !seen[row.Expected] {
				seen[row.Expected] = true
				o.labels = append(o.labels, row.Expected)
			}
		}
		fh.Close()
	}
	return o
}

func (o *oracle) answer(req providertest.ChatRequest) (string, *providertest.HTTPError) {
	last := req.Messages[len(req.Messages)-1].Content
	for input, label := range o.expected {
		if strings.HasSuffix(last, input) {
			h := fnv.New32a()
			h.Write([]byte(input))
			if h.Sum32()%3 == 0 {
				for _, l := range o.labels {
					if l != label {
						return l, nil
					}
				}
			}
			return label, nil
		}
	}
	return "unknown", nil
}

func newLab(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "lab")
	if r := tunelab(t, ".", nil, "init", dir); r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	return dir
}

type resultsFile struct {
	Summary struct {
		RunID      string `json:"run_id"`
		Complete   bool   `json:"complete"`
		Cases      int    `json:"cases"`
		Candidates []struct {
			ID       string  `json:"id"`
			Calls    int     `json:"calls"`
			Accuracy float64 `json:"accuracy"`
		} `json:"candidates"`
	} `json:"summary"`
	Results []struct {
		CandidateID string `json:"candidate_id"`
		CaseID      string `json:"case_id"`
		Answer      string `json:"answer"`
		Pass        bool   `json:"pass"`
	} `json:"results"`
}

func readResults(t *testing.T, path string) resultsFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r resultsFile
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func answersOf(r resultsFile) map[string]string {
	out := map[string]string{}
	for _, x := range r.Results {
		out[x.CandidateID+"|"+x.CaseID] = x.Answer
	}
	return out
}

func TestEvalEndToEnd(t *testing.T) {
	dir := newLab(t)
	o := newOracle(t, dir)
	srv := providertest.NewOpenAIServer(t, providertest.Text(o.answer))
	model := "openai-compatible:" + srv.URL + "#fake"
	r := tunelab(t, dir, nil, "eval", "--model", model, "--limit", "30", "--json", "out.json", "--html", "report.html")
	if r.code != 0 {
		t.Fatalf("eval exit %d:\n%s", r.code, r.stderr)
	}
	res := readResults(t, filepath.Join(dir, "out.json"))
	if !res.Summary.Complete || res.Summary.Cases != 30 || len(res.Summary.Candidates) == 0 {
		t.Fatalf("summary: %+v", res.Summary)
	}
	for _, c := range res.Summary.Candidates {
		if c.Calls != 30 {
			t.Errorf("%s made %d calls, want 30", c.ID, c.Calls)
		}
		// The oracle is wrong on about a third of inputs; accuracy must
		// land near two thirds for prompts whose last line is the input.
		if c.Accuracy < 0.4 || c.Accuracy > 0.95 {
			t.Errorf("%s accuracy %.2f, want about 0.67", c.ID, c.Accuracy)
		}
	}
	if !strings.Contains(r.stdout, "accuracy") || !strings.Contains(r.stdout, "95% CI") {
		t.Errorf("no table on stdout:\n%s", r.stdout)
	}
	html, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil || !bytes.Contains(html, []byte("<svg")) {
		t.Errorf("report.html missing or has no chart: %v", err)
	}

	// A second run is answered entirely from the store: no new calls.
	calls := len(srv.Requests())
	r = tunelab(t, dir, nil, "eval", "--model", model, "--limit", "30", "--json", "out2.json")
	if r.code != 0 {
		t.Fatalf("second eval exit %d: %s", r.code, r.stderr)
	}
	if n := len(srv.Requests()) - calls; n != 0 {
		t.Errorf("second run sent %d requests, want 0", n)
	}
	again := readResults(t, filepath.Join(dir, "out2.json"))
	if !equalMaps(answersOf(res), answersOf(again)) {
		t.Error("second run's answers differ from the first's")
	}
}

// TestEvalKillAndResume kills tunelab with SIGKILL halfway through a run,
// starts it again, and checks that it finishes without repeating finished
// calls and that the results equal those of an uninterrupted run.
func TestEvalKillAndResume(t *testing.T) {
	dir := newLab(t)
	o := newOracle(t, dir)
	slow := func(req providertest.ChatRequest) (string, *providertest.HTTPError) {
		time.Sleep(15 * time.Millisecond)
		return o.answer(req)
	}
	srv := providertest.NewOpenAIServer(t, providertest.Text(slow))
	model := "openai-compatible:" + srv.URL + "#fake"
	args := []string{"eval", "--model", model, "--limit", "40", "--json", "out.json"}

	cmd := exec.Command(os.Args[0], args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TUNELAB_RUN_MAIN=1", "CI=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(srv.Requests()) < 30 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // killed: its exit status is the signal
	before := len(srv.Requests())
	if _, err := os.Stat(filepath.Join(dir, "out.json")); err == nil {
		t.Fatal("the killed run finished before it was killed; make the fake slower")
	}

	r := tunelab(t, dir, nil, args...)
	if r.code != 0 {
		t.Fatalf("resumed eval exit %d: %s", r.code, r.stderr)
	}
	res := readResults(t, filepath.Join(dir, "out.json"))
	total := 0
	for _, c := range res.Summary.Candidates {
		total += c.Calls
	}
	resumedCalls := len(srv.Requests()) - before
	// Calls in flight at the kill may be redone (at most concurrency of them);
	// finished ones never are.
	if before+resumedCalls > total+4 {
		t.Errorf("%d calls before the kill + %d after = %d, want at most %d (total + in-flight)", before, resumedCalls, before+resumedCalls, total+4)
	}
	if resumedCalls >= total {
		t.Errorf("the resumed run redid everything (%d calls for %d results)", resumedCalls, total)
	}

	// An uninterrupted run in a fresh copy of the lab gives the same results.
	fresh := newLab(t)
	r = tunelab(t, fresh, nil, args...)
	if r.code != 0 {
		t.Fatalf("fresh eval exit %d: %s", r.code, r.stderr)
	}
	want := readResults(t, filepath.Join(fresh, "out.json"))
	if !equalMaps(answersOf(res), answersOf(want)) {
		t.Error("resumed run's answers differ from an uninterrupted run's")
	}
	if res.Summary.RunID != want.Summary.RunID {
		t.Errorf("run ids differ: %s vs %s", res.Summary.RunID, want.Summary.RunID)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestEvalUserErrors: each mistake a user can make gives exit code 2 and
// one line saying what to fix.
func TestEvalUserErrors(t *testing.T) {
	srvOK := providertest.NewOpenAIServer(t, providertest.Text(func(providertest.ChatRequest) (string, *providertest.HTTPError) { return "x", nil }))
	okModel := "openai-compatible:" + srvOK.URL + "#fake"
	cases := []struct {
		name  string
		setup func(t *testing.T, dir string)
		args  []string
		env   []string
		want  []string // substrings of the one-line error
	}{
		{
			name: "broken dataset line",
			setup: func(t *testing.T, dir string) {
				appendFile(t, filepath.Join(dir, "data/test.jsonl"), "{\"input\": \"oops\"\n")
			},
			args: []string{"eval", "--model", okModel},
			want: []string{"test.jsonl:", "--skip-bad"},
		},
		{
			name: "unknown config key",
			setup: func(t *testing.T, dir string) {
				appendFile(t, filepath.Join(dir, "tunelab.yaml"), "concurency: 4\n")
			},
			args: []string{"eval", "--model", okModel},
			want: []string{"tunelab.yaml:", "concurency", "did you mean"},
		},
		{
			name:  "missing config file",
			setup: func(t *testing.T, dir string) {},
			args:  []string{"eval", "-c", "nope/tunelab.yaml", "--model", okModel},
			want:  []string{"nope/tunelab.yaml", "tunelab init"},
		},
		{
			name:  "missing data file",
			setup: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, "data/test.jsonl")) },
			args:  []string{"eval", "--model", okModel},
			want:  []string{"data.test", "test.jsonl"},
		},
		{
			name:  "unreachable provider",
			setup: func(t *testing.T, dir string) {},
			args:  []string{"eval", "--model", "openai-compatible:http://127.0.0.1:1/v1#m", "--limit", "5"},
			want:  []string{"127.0.0.1:1", "failed"},
		},
		{
			name:  "missing API key",
			setup: func(t *testing.T, dir string) {},
			args:  []string{"eval", "--model", "openai:gpt-4o-mini"},
			env:   []string{"OPENAI_API_KEY="},
			want:  []string{"OPENAI_API_KEY"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := newLab(t)
			tc.setup(t, dir)
			r := tunelab(t, dir, tc.env, tc.args...)
			if r.code != 2 {
				t.Fatalf("exit code %d, want 2; stderr:\n%s", r.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			last := lines[len(lines)-1]
			if !strings.HasPrefix(last, "tunelab: ") {
				t.Fatalf("last stderr line is not the error: %q", last)
			}
			for _, w := range tc.want {
				if !strings.Contains(last, w) {
					t.Errorf("error %q does not mention %q", last, w)
				}
			}
		})
	}
}

func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}
