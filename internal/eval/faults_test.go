package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/provider"
	_ "github.com/tunelab/tunelab/internal/provider/openai" // registers openai-compatible, as cmd/tunelab does
	"github.com/tunelab/tunelab/internal/store/sqlite"
)

// fault is what the faulty server does to one attempt of a call.
type fault int

const (
	faultNone    fault = iota
	fault429Wait       // 429 with retry-after-ms and Retry-After, as OpenAI sends them
	fault429           // 429 with no wait given: the client's backoff decides
	fault500           // a server error
	faultHang          // no answer until the client gives up
	faultBadJSON       // 200 whose body is cut off mid-JSON
	faultKinds
)

var faultNames = [faultKinds]string{"ok", "429+Retry-After", "429", "500", "hang", "malformed 200"}

// retryAfterMS is the wait the server asks for; it is small so the test
// stays fast, and it is sent as retry-after-ms so the client honours it
// to the millisecond.
const retryAfterMS = 20

// faultServer speaks OpenAI's chat completions wire format and fails
// attempts by a plan fixed in advance per request, so the outcome of every
// call can be predicted and checked. The request is recognised by its last
// user message, which the runner's prompt makes unique per case.
type faultServer struct {
	plan map[string][]fault // per request: what each attempt gets

	mu       sync.Mutex
	seen     map[string]int // attempts that reached the server, per request
	served   [faultKinds]int
	lastWait map[string]time.Time // when a 429 asking to wait was sent
	early    []string             // retries sent before the wait asked for
	unknown  int                  // requests for no planned case
}

func newFaultServer(plan map[string][]fault) *faultServer {
	return &faultServer{plan: plan, seen: map[string]int{}, lastWait: map[string]time.Time{}}
}

func (s *faultServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model    string `json:"model"`
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
	}
	if r.URL.Path != "/v1/chat/completions" || json.NewDecoder(r.Body).Decode(&req) != nil || len(req.Messages) == 0 {
		http.Error(w, `{"error":{"message":"bad request"}}`, http.StatusBadRequest)
		return
	}
	key := req.Messages[len(req.Messages)-1].Content

	s.mu.Lock()
	plan, known := s.plan[key]
	if !known {
		s.unknown++
	}
	n := s.seen[key]
	s.seen[key] = n + 1
	f := faultNone
	if n < len(plan) {
		f = plan[n]
	}
	if t, ok := s.lastWait[key]; ok && time.Since(t) < retryAfterMS*time.Millisecond {
		s.early = append(s.early, key)
	}
	delete(s.lastWait, key)
	if f == fault429Wait {
		s.lastWait[key] = time.Now()
	}
	s.served[f]++
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	switch f {
	case fault429Wait:
		w.Header().Set("retry-after-ms", fmt.Sprint(retryAfterMS))
		w.Header().Set("Retry-After", "1")
		fallthrough
	case fault429:
		w.WriteHeader(http.StatusTooManyRequests)
		fmt.Fprint(w, `{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}`)
	case fault500:
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, `{"error":{"message":"The server had an error while processing your request.","type":"server_error"}}`)
	case faultHang:
		select {
		case <-r.Context().Done(): // the client timed out and hung up
		case <-time.After(10 * time.Second): // never outlive the test
		}
	case faultBadJSON:
		fmt.Fprint(w, `{"id":"chatcmpl-f","object":"chat.completion","created":1,"model":"faulty","choices":[{"index":0,"message":{"role":"assistant","content":"`)
	default:
		words := strings.Fields(key)
		resp := map[string]any{
			"id": "chatcmpl-ok", "object": "chat.completion", "created": 1, "model": req.Model,
			"choices": []map[string]any{{"index": 0, "finish_reason": "stop",
				"message": map[string]any{"role": "assistant", "content": words[len(words)-1]}}},
			"usage": map[string]any{"prompt_tokens": len(words), "completion_tokens": 1, "total_tokens": len(words) + 1},
		}
		_ = json.NewEncoder(w).Encode(resp) // the client may be gone; it then retries or records the error
	}
}

// predict says how a call planned as plan ends under a retry bound of
// maxAttempts, when the faults in retried are retried: whether it
// succeeds, after how many attempts, and the fault that ended it.
func predict(plan []fault, retried map[fault]bool, maxAttempts int) (ok bool, attempts int, last fault) {
	for i := 0; i < maxAttempts; i++ {
		f := faultNone
		if i < len(plan) {
			f = plan[i]
		}
		if f == faultNone {
			return true, i + 1, f
		}
		if !retried[f] || i+1 == maxAttempts {
			return false, i + 1, f
		}
	}
	panic("unreachable: the loop returns on its last attempt")
}

// errorMentions is what a recorded error must say for the fault that
// ended the call, so a user reading it can tell what happened.
// Any one of the phrases will do: a hang reads differently when the
// attempt's timeout fired than when the whole call's did.
var errorMentions = map[fault][]string{
	fault429Wait: {"HTTP 429"},
	fault429:     {"HTTP 429"},
	fault500:     {"HTTP 500"},
	faultHang:    {"no answer within the call's timeout", "deadline exceeded"},
	faultBadJSON: {"error parsing response json"},
}

// errorKinds is the ErrorKind each fault must be sorted into when it ends
// a call.
var errorKinds = map[fault]string{
	fault429Wait: ErrRateLimited,
	fault429:     ErrRateLimited,
	fault500:     ErrServer,
	faultHang:    ErrTimeout,
	faultBadJSON: ErrMalformed,
}

func mentions(msg string, phrases []string) bool {
	for _, p := range phrases {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}

// TestRunWithFaultyProvider drives a run through the real OpenAI-compatible
// provider, the retry middleware and a SQLite store, against a server that
// fails about 30% of attempts (and always fails a few poisoned requests),
// and checks that the run completes, no call is lost or recorded twice,
// every attempt stays within the retry bound, every failure is recorded
// with its cause and every success carries the right answer.
func TestRunWithFaultyProvider(t *testing.T) {
	const (
		cases       = 300
		maxAttempts = 5 // config.DefaultRetries: what a lab gets without `retries:`
		faultRate   = 0.3
		poisonEvery = 50 // every 50th request fails every attempt
		attemptTime = 300 * time.Millisecond
	)
	tests := []struct {
		name          string
		runnerTimeout time.Duration
		retried       map[fault]bool
	}{
		{
			// cmd/tunelab/eval.go gives the runner the config's timeout,
			// the same one each attempt gets: a hung attempt uses up the
			// whole call, so it ends the call instead of being retried.
			name:          "runner timeout as cmd wires it",
			runnerTimeout: attemptTime,
			retried:       map[fault]bool{fault429Wait: true, fault429: true, fault500: true, faultBadJSON: true},
		},
		{
			name:          "runner timeout covering every attempt",
			runnerTimeout: maxAttempts*attemptTime + 2*time.Second,
			retried:       map[fault]bool{fault429Wait: true, fault429: true, fault500: true, faultHang: true, faultBadJSON: true},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			task := lab.Task{Name: "faults", Description: "Say the label.", Output: lab.OutputLabel, Labels: []string{"a", "b"}}
			rng := rand.New(rand.NewPCG(9, 30))
			var exs []lab.Example
			plans := map[string][]fault{}
			byCase := map[string][]fault{}
			for i := range cases {
				label := []string{"a", "b"}[rng.IntN(2)]
				ex := lab.Example{ID: fmt.Sprintf("f%03d", i), Input: fmt.Sprintf("case %d says %s", i, label), Expected: label}
				exs = append(exs, ex)
				plan := make([]fault, maxAttempts)
				for a := range plan {
					switch {
					case i%poisonEvery == poisonEvery-1:
						// A poisoned request gets the same fault every
						// time, each kind in turn, so every kind is seen
						// ending a call and the retry bound is reached.
						plan[a] = fault(1 + (i/poisonEvery)%(int(faultKinds)-1))
					case rng.Float64() < faultRate:
						plan[a] = fault(1 + rng.IntN(int(faultKinds)-1))
					}
				}
				byCase[ex.ID] = plan
				plans["zero-shot: "+ex.Input] = plan
			}

			srv := newFaultServer(plans)
			hs := httptest.NewServer(srv)
			defer hs.Close()

			ref, err := provider.ParseRef("openai-compatible:" + hs.URL + "/v1#faulty")
			if err != nil {
				t.Fatal(err)
			}
			// Built as internal/workspace builds a model's provider; the
			// backoff is shortened so the test spends no seconds waiting.
			p, err := provider.New(provider.Config{Ref: ref, Timeout: attemptTime})
			if err != nil {
				t.Fatal(err)
			}
			p = provider.WithRetry(p, provider.RetryPolicy{MaxAttempts: maxAttempts, BaseDelay: 2 * time.Millisecond, MaxDelay: 10 * time.Millisecond})

			v := prompt.Expand(lab.Variant{Name: "zero-shot", Template: "zero-shot: {{.Input}}"}, task)
			v.Instructions = "" // the user turn is then the template alone, the server's key
			b, err := prompt.NewBuilder(task, v, nil)
			if err != nil {
				t.Fatal(err)
			}
			target := Target{Candidate: lab.Candidate{ID: "faulty/zero-shot", Model: ref.String(), Variant: v}, Builder: b, Provider: p}
			st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lab.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			run := lab.RunInfo{ID: "faults", Lab: "t", Dataset: "d", Candidates: []lab.Candidate{target.Candidate}, Cases: cases, Repeats: 1, PrimaryScorer: "same"}
			r := &Runner{Store: st, Scorers: []lab.Scorer{sameAnswer{}}, Primary: "same", Concurrency: 8, Timeout: tc.runnerTimeout}

			out, err := r.Run(ctx, run, []Target{target}, exs)
			if err != nil {
				t.Fatalf("the run did not complete: %v", err)
			}
			results, err := st.Results(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}

			got := map[string]lab.CallResult{}
			dups := 0
			for _, res := range results {
				if _, twice := got[res.CaseID]; twice {
					dups++
				}
				got[res.CaseID] = res
			}
			lost := 0
			samples := map[fault]string{}
			wantFailed, wantAttempts := 0, 0
			wantKinds := map[string]int{}
			for _, ex := range exs {
				res, ok := got[ex.ID]
				if !ok {
					lost++
					continue
				}
				wantOK, attempts, last := predict(byCase[ex.ID], tc.retried, maxAttempts)
				wantAttempts += attempts
				srv.mu.Lock()
				seen := srv.seen["zero-shot: "+ex.Input]
				srv.mu.Unlock()
				if res.Attempts > maxAttempts || seen > maxAttempts {
					t.Errorf("%s: %d attempts recorded, %d seen by the server; the bound is %d", ex.ID, res.Attempts, seen, maxAttempts)
				}
				if res.Attempts != attempts || seen != attempts {
					t.Errorf("%s (plan %v): %d attempts recorded, %d seen by the server, want %d", ex.ID, byCase[ex.ID], res.Attempts, seen, attempts)
				}
				if wantOK {
					if res.Error != "" || res.Answer != ex.Expected || !res.Pass {
						t.Errorf("%s: want the answer %q, got %q (error %q)", ex.ID, ex.Expected, res.Answer, res.Error)
					}
					continue
				}
				wantFailed++
				samples[last] = res.Error
				if res.Error == "" || res.Pass || res.Answer != "" {
					t.Errorf("%s (plan %v): want a recorded failure, got answer %q, error %q", ex.ID, byCase[ex.ID], res.Answer, res.Error)
				} else if !mentions(res.Error, errorMentions[last]) {
					t.Errorf("%s: the error for %s does not say %q: %s", ex.ID, faultNames[last], errorMentions[last], res.Error)
				}
				if res.ErrorKind != errorKinds[last] {
					t.Errorf("%s: %s was sorted as %q; want %q (%s)", ex.ID, faultNames[last], res.ErrorKind, errorKinds[last], res.Error)
				}
				wantKinds[errorKinds[last]]++
				if tc.retried[last] && !strings.Contains(res.Error, fmt.Sprintf("gave up after %d attempts", maxAttempts)) {
					t.Errorf("%s: a retryable failure that used every attempt does not say so: %s", ex.ID, res.Error)
				}
			}
			if lost != 0 || dups != 0 || len(results) != cases {
				t.Errorf("%d results for %d cases: %d lost, %d recorded twice", len(results), cases, lost, dups)
			}
			if out.Total != cases || out.Called != cases || out.Errors != wantFailed || out.Canceled {
				t.Errorf("outcome %+v, want %d calls with %d errors", out, cases, wantFailed)
			}
			sum := Summarize(run, results)
			if len(sum.Candidates) != 1 || sum.Candidates[0].Errors != wantFailed || sum.Missing != 0 {
				t.Errorf("the summary does not count the %d failures: %+v", wantFailed, sum.Candidates)
			} else if got := sum.Candidates[0].ErrorKinds; !reflect.DeepEqual(got, wantKinds) {
				t.Errorf("the summary counts failures by kind as %v; want %v", got, wantKinds)
			} else if got := sum.Candidates[0].Retries; got != wantAttempts-cases {
				t.Errorf("the summary counts %d retries; want %d", got, wantAttempts-cases)
			}

			srv.mu.Lock()
			defer srv.mu.Unlock()
			total := 0
			for _, n := range srv.served {
				total += n
			}
			if total != wantAttempts || total > cases*maxAttempts || srv.unknown != 0 {
				t.Errorf("the server saw %d requests (%d unknown), want %d (bound %d)", total, srv.unknown, wantAttempts, cases*maxAttempts)
			}
			if len(srv.early) != 0 {
				t.Errorf("%d retries came sooner than Retry-After asked, e.g. %q", len(srv.early), srv.early[0])
			}
			injected := total - srv.served[faultNone]
			var kinds []string
			for f := fault429Wait; f < faultKinds; f++ {
				kinds = append(kinds, fmt.Sprintf("%s %d", faultNames[f], srv.served[f]))
			}
			t.Logf("calls %d, requests %d (retries %d), faults injected %d (%s), failed calls %d, succeeded %d, lost %d, duplicates %d",
				cases, total, total-cases, injected, strings.Join(kinds, ", "), wantFailed, cases-wantFailed, lost, dups)
			for f, msg := range samples {
				t.Logf("a call ended by %s records: %s", faultNames[f], msg)
			}
		})
	}
}

// sameAnswer passes an answer equal to the expected output; the run's
// scoring is not under test here, only that answers reach the right case.
type sameAnswer struct{}

func (sameAnswer) Name() string { return "same" }

func (sameAnswer) Score(_ context.Context, ex lab.Example, answer string) (lab.Score, error) {
	if answer == ex.Expected {
		return lab.Score{Value: 1, Pass: true}, nil
	}
	return lab.Score{}, nil
}
