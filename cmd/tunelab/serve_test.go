package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// servedLab is the example lab on a generated tiny model, with a key and
// a deployment of its zero-shot candidate.
func servedLab(t *testing.T) (dir, secret string) {
	t.Helper()
	dir = newLab(t)
	tinyBase(t, dir)
	replaceInLab(t, dir, "tunelab.yaml", "  - local:base\n", "  - local:tiny\n")
	replaceInLab(t, dir, "tunelab.yaml", "  max_tokens: 64\n", "  max_tokens: 4\n")
	r := tunelab(t, dir, nil, "keys", "create", "app")
	secret = regexp.MustCompile(`tlk-[a-z2-7]+`).FindString(r.stdout)
	if r.code != 0 || secret == "" {
		t.Fatalf("keys create: %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := tunelab(t, dir, nil, "deploy", "triage", "--candidate", "local:tiny/zero-shot"); r.code != 0 || !strings.Contains(r.stdout, "deployed triage v1") {
		t.Fatalf("deploy: %d %s %s", r.code, r.stdout, r.stderr)
	}
	return dir, secret
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServe runs `tunelab serve` (with extra flags) as a child process
// and waits until it answers.
func startServe(t *testing.T, dir string, flags ...string) (*exec.Cmd, string, string, *syncBuffer) {
	t.Helper()
	pub, adm := freeAddr(t), freeAddr(t)
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--listen", pub, "--admin", adm}, flags...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "TUNELAB_RUN_MAIN=1", "CI=1")
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + pub + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd, pub, adm, out
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not come up: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// syncBuffer collects a child's output while the test may read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type traceRow struct {
	ID     string `json:"id"`
	Input  string `json:"input"`
	Stream bool   `json:"stream"`
	Status int    `json:"status"`
}

func storedTraces(t *testing.T, dir string) []traceRow {
	t.Helper()
	r := tunelab(t, dir, nil, "traces", "--json", "--limit", "0")
	if r.code != 0 {
		t.Fatalf("traces: %d %s", r.code, r.stderr)
	}
	var ts []traceRow
	if err := json.Unmarshal([]byte(r.stdout), &ts); err != nil {
		t.Fatalf("traces --json: %v: %s", err, r.stdout)
	}
	return ts
}

// TestServe points the official openai-go client at `tunelab serve` on a
// deployed local candidate: answers come streamed and not, embeddings
// too; the calls become traces, a reviewer's correction turns one into a
// dataset row, and a clean stop leaves every trace stored.
func TestServe(t *testing.T) {
	dir, secret := servedLab(t)
	cmd, pub, adm, out := startServe(t, dir)
	c := openai.NewClient(option.WithBaseURL("http://"+pub+"/v1"), option.WithAPIKey(secret), option.WithMaxRetries(0))
	ctx := context.Background()

	chat, err := c.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "triage",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("My parcel never arrived")}})
	if err != nil {
		t.Fatal(err)
	}
	if chat.ID == "" || chat.Choices[0].FinishReason == "" || chat.Usage.CompletionTokens == 0 {
		t.Errorf("chat response = %+v", chat)
	}
	stream := c.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: "triage",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Refund my order please")}})
	acc := openai.ChatCompletionAccumulator{}
	for stream.Next() {
		acc.AddChunk(stream.Current())
	}
	if err := stream.Err(); err != nil {
		t.Fatal(err)
	}
	if acc.ID == "" || len(acc.Choices) != 1 {
		t.Errorf("streamed response = %+v", acc.ChatCompletion)
	}
	emb, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "triage",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"refund", "parcel"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(emb.Data) != 2 || len(emb.Data[0].Embedding) == 0 {
		t.Errorf("embeddings = %d vectors", len(emb.Data))
	}
	wrong := openai.NewClient(option.WithBaseURL("http://"+pub+"/v1"), option.WithAPIKey("tlk-wrong"), option.WithMaxRetries(0))
	if _, err := wrong.Models.List(ctx); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a wrong key listed models: %v", err)
	}

	// The trace is stored a moment after the answer; review it then.
	var fbStatus int
	for i := 0; i < 100 && fbStatus != http.StatusCreated; i++ {
		body := fmt.Sprintf(`{"trace_id":%q,"thumb":-1,"correction":"shipping_delay","reviewer":"ana"}`, chat.ID)
		req, _ := http.NewRequest(http.MethodPost, "http://"+pub+"/v1/feedback", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		fbStatus = resp.StatusCode
		time.Sleep(20 * time.Millisecond)
	}
	if fbStatus != http.StatusCreated {
		t.Fatalf("feedback status %d", fbStatus)
	}
	metrics, err := http.Get("http://" + adm + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	mb, _ := io.ReadAll(metrics.Body)
	metrics.Body.Close()
	if !strings.Contains(string(mb), `tunelab_gateway_requests_total{deployment="triage",endpoint="chat",status="200"} 2`) {
		t.Errorf("/metrics does not count the two chat calls")
	}

	for _, tc := range []struct {
		path, want string
		status     int
	}{
		{"/", "<!doctype html", 200},
		{"/runs/some/deep/link", "<!doctype html", 200},
		{"/api/lab", `"ticket-routing"`, 200},
		{"/api/nope", "no API route", 404},
	} {
		resp, err := http.Get("http://" + adm + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(strings.ToLower(string(b)), strings.ToLower(tc.want)) {
			t.Errorf("admin GET %s: %d, want %d with %q in %.200s", tc.path, resp.StatusCode, tc.status, tc.want, b)
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve exited with %v: %s", err, out)
	}
	if !strings.Contains(out.String(), "every trace is stored") {
		t.Errorf("serve output: %s", out)
	}
	ts := storedTraces(t, dir)
	if len(ts) != 2 {
		t.Fatalf("%d traces, want 2 (chat and stream): %+v", len(ts), ts)
	}
	r := tunelab(t, dir, nil, "data", "capture", "--deployment", "triage", "--out", "data/captured.jsonl")
	if r.code != 0 || !strings.Contains(r.stdout, "1 examples from 1 reviewed traces") {
		t.Fatalf("capture: %d %s %s", r.code, r.stdout, r.stderr)
	}
	row, err := os.ReadFile(filepath.Join(dir, "data", "captured.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(row), `"input":"My parcel never arrived","expected":"shipping_delay"`) {
		t.Errorf("captured row = %s", row)
	}
	if r := tunelab(t, dir, nil, "monitor"); r.code != 0 || !strings.Contains(r.stdout, "triage v1") {
		t.Errorf("monitor: %d %s %s", r.code, r.stdout, r.stderr)
	}
}

// TestServeKilledMidLoad kills the server with SIGKILL while clients keep
// calling it, starts it again, and checks that every call a client got an
// answer for has its trace, once.
func TestServeKilledMidLoad(t *testing.T) {
	dir, secret := servedLab(t)
	cmd, pub, _, _ := startServe(t, dir)
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	client := &http.Client{Timeout: 10 * time.Second}
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"model":"triage","messages":[{"role":"user","content":"order %d-%d is late"}]}`, w, i)
				req, _ := http.NewRequest(http.MethodPost, "http://"+pub+"/v1/chat/completions", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+secret)
				resp, err := client.Do(req)
				if err != nil {
					continue // the server is gone: no answer, nothing acknowledged
				}
				var out struct {
					ID string `json:"id"`
				}
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if err == nil && resp.StatusCode == 200 && out.ID != "" {
					mu.Lock()
					acked = append(acked, out.ID)
					mu.Unlock()
				}
			}
		}()
	}
	// Kill it once calls flow (a busy machine makes them slow), while four
	// more are in flight.
	waitAcked := time.Now().Add(90 * time.Second)
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 12 || time.Now().After(waitAcked) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if len(acked) < 5 {
		t.Fatalf("only %d calls answered before the kill; the test needs load", len(acked))
	}
	// The restarted server stores what the killed one left in its log.
	cmd2, _, _, out2 := startServe(t, dir)
	if err := cmd2.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd2.Wait(); err != nil {
		t.Fatalf("second serve: %v: %s", err, out2)
	}
	ts := storedTraces(t, dir)
	have := map[string]int{}
	for _, tr := range ts {
		have[tr.ID]++
	}
	lost := 0
	for _, id := range acked {
		if have[id] == 0 {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d answered calls lost their trace", lost, len(acked))
	}
	if len(have) != len(ts) {
		t.Errorf("%d traces but %d distinct ids", len(ts), len(have))
	}
	t.Logf("answered %d calls before SIGKILL; %d traces stored after restart; lost 0", len(acked), len(ts))
}

func TestServingUserErrors(t *testing.T) {
	dir, _ := servedLab(t)
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"deploy without a candidate", []string{"deploy", "x"}, "give one of --candidate ID or --from-verdict"},
		{"deploy an unknown candidate", []string{"deploy", "x", "--candidate", "nope/zero-shot"}, `no candidate "nope/zero-shot"`},
		{"deploy a name clients cannot type", []string{"deploy", "a b", "--candidate", "local:tiny/zero-shot"}, "letters, digits"},
		{"split share out of range", []string{"deploy", "x", "--candidate", "local:tiny/zero-shot", "--split", "triage=1.5"}, "SHARE between 0 and 1"},
		{"split to a missing deployment", []string{"deploy", "x", "--candidate", "local:tiny/zero-shot", "--split", "ghost=0.2"}, "--split ghost"},
		{"verdict file missing", []string{"deploy", "x", "--from-verdict"}, "run `tunelab ladder` first"},
		{"remove a missing deployment", []string{"deploy", "rm", "ghost"}, `no deployment "ghost"`},
		{"revoke a missing key", []string{"keys", "revoke", "key_nope"}, `no key "key_nope"`},
		{"negative rpm", []string{"keys", "create", "k", "--rpm", "-1"}, "--rpm -1"},
		{"review without a reviewer", []string{"traces", "review", "tr_x", "--up"}, "--reviewer is required"},
		{"review of a missing trace", []string{"traces", "review", "tr_x", "--up", "--reviewer", "ana"}, `no trace "tr_x"`},
		{"traces since nonsense", []string{"traces", "--since", "last tuesday"}, "--since"},
		{"capture without a deployment", []string{"data", "capture"}, "--deployment is required"},
		{"no-auth on every interface", []string{"serve", "--no-auth", "--listen", "0.0.0.0:0"}, "--no-auth on 0.0.0.0:0"},
		{"admin on the public address", []string{"serve", "--listen", "127.0.0.1:9", "--admin", "127.0.0.1:9"}, "--admin must differ"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tunelab(t, dir, nil, tc.args...)
			if r.code != exitUser || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, exitUser, tc.want)
			}
		})
	}
	r := tunelab(t, dir, nil, "deploy", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "triage") || strings.Contains(r.stdout, "x ") {
		t.Errorf("deploy list after refused deploys: %s", r.stdout)
	}
}
