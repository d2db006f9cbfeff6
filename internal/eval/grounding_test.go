package eval

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/provider/providertest"
)

// guessingModel reads the colour from the first passage in its prompt,
// except when asked to guess (then it makes one up) or to say nothing.
type guessingModel struct{}

func (guessingModel) Name() string { return "guesser" }

func (guessingModel) Complete(_ context.Context, req provider.Request) (*provider.Response, error) {
	last := req.Messages[len(req.Messages)-1].Content
	answer := ""
	switch {
	case strings.Contains(last, "Guess"):
		answer = "purple"
	case strings.Contains(last, "Say nothing"):
	default:
		if g := colourRE.FindStringSubmatch(last); g != nil {
			answer = g[1]
		}
	}
	return &provider.Response{Text: answer, Latency: time.Millisecond}, nil
}

func between(s, open, close string) string {
	_, rest, _ := strings.Cut(s, open)
	in, _, _ := strings.Cut(rest, close)
	return strings.TrimSpace(in)
}

// TestGroundingJudge runs a retrieval candidate with a groundedness judge
// served by the OpenAI-compatible provider from a fake OpenAI server: the
// judge's verdicts become the summary's groundedness, a reply it cannot
// read is counted as a judge error and asked again on resume, and a rerun
// finds the readable verdicts in the response cache.
func TestGroundingJudge(t *testing.T) {
	var readable atomic.Bool // whether the judge answers the "Stump" case readably
	srv := providertest.NewOpenAIServer(t, providertest.Text(func(r providertest.ChatRequest) (string, *providertest.HTTPError) {
		user := r.Messages[len(r.Messages)-1].Content
		question, passages, answer := between(user, "<question>", "</question>"), between(user, "<passages>", "</passages>"), between(user, "<answer>", "</answer>")
		switch {
		case strings.Contains(question, "Stump") && !readable.Load():
			return "Hmm, hard to say.", nil
		case answer == "":
			return `{"supported": [], "unsupported": []}`, nil
		case strings.Contains(passages, "colour is "+answer):
			return fmt.Sprintf("```json\n{\"supported\": [\"The colour is %s.\"], \"unsupported\": []}\n```", answer), nil
		default:
			return fmt.Sprintf(`{"supported": [], "unsupported": ["The colour is %s."]}`, answer), nil
		}
	}))
	target := judgedTarget(t, srv.URL)
	inputs := []string{
		"What colour is alpha?", "What colour is alpha really?", "Which colour has alpha?", "Alpha colour?",
		"Guess the colour of alpha.", "Guess alpha's colour.",
		"Stump the judge: what colour is alpha?",
		"Say nothing about alpha.",
	}
	var cases []lab.Example
	for i, in := range inputs {
		cases = append(cases, lab.Example{ID: fmt.Sprintf("q%d", i), Input: in, Expected: "red"})
	}
	st := openStore(t, filepath.Join(t.TempDir(), "db"))
	r := &Runner{Store: st, Scorers: []lab.Scorer{exactScorer{}}, Primary: "exact", Concurrency: 2}
	run := func(id string) *RetrievalSummary {
		t.Helper()
		info := runInfo(id, []Target{target}, len(cases), 1)
		if _, err := r.Run(context.Background(), info, []Target{target}, cases); err != nil {
			t.Fatal(err)
		}
		results, err := st.Results(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return Summarize(info, results).Candidates[0].Retrieval
	}

	steps := []struct {
		name                  string
		runID                 string
		before                func()
		judgeCalls            int // new requests the judge server receives
		judged, judgeErrors   int
		grounded, hallucinate float64
	}{
		{"first run", "r1", func() {}, 8, 6, 1, 4.0 / 6, 2.0 / 6},
		{"a rerun reads the verdicts from the cache; the unreadable one is asked again", "r2", func() {}, 1, 6, 1, 4.0 / 6, 2.0 / 6},
		{"resuming asks the judge again where it failed", "r1", func() { readable.Store(true) }, 1, 7, 0, 5.0 / 7, 2.0 / 7},
	}
	seen := 0
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.before()
			rs := run(s.runID)
			if got := len(srv.Requests()) - seen; got != s.judgeCalls {
				t.Errorf("judge received %d requests, want %d", got, s.judgeCalls)
			}
			seen = len(srv.Requests())
			if rs.GroundedBy != "judge" || rs.Judged != s.judged || rs.JudgeErrors != s.judgeErrors {
				t.Errorf("grounded by %q, judged %d, judge errors %d; want judge, %d, %d", rs.GroundedBy, rs.Judged, rs.JudgeErrors, s.judged, s.judgeErrors)
			}
			if math.Abs(rs.Groundedness-s.grounded) > 1e-9 || math.Abs(rs.HallucinationRate-s.hallucinate) > 1e-9 {
				t.Errorf("groundedness %v, hallucination rate %v; want %v, %v", rs.Groundedness, rs.HallucinationRate, s.grounded, s.hallucinate)
			}
			// Word overlap is kept beside the judge: "purple" is in no
			// passage, "red" is; the empty answer has no words to judge.
			if math.Abs(rs.OverlapHallucinationRate-2.0/7) > 1e-9 {
				t.Errorf("overlap hallucination rate %v, want 2/7", rs.OverlapHallucinationRate)
			}
		})
	}

	req := srv.Requests()[0]
	if req.Model != "judge-model" || req.Temperature != nil || !strings.Contains(req.System, "only against the passages") ||
		!strings.Contains(req.Messages[0].Content, "[kb/alpha.md#0] Alpha\nFor alpha the colour is red.") {
		t.Errorf("judge request: model %q, temperature %v, system %q, user %q", req.Model, req.Temperature, req.System, req.Messages[0].Content)
	}
	results, err := st.Results(context.Background(), "r1")
	if err != nil {
		t.Fatal(err)
	}
	for _, res := range results {
		sc, ok := res.Scores[ScoreJudged]
		switch {
		case res.CaseID == "q4" && (!ok || sc.Pass || !strings.Contains(sc.Reason, `1 of 1 claims not supported by the retrieved text: "The colour is purple."`)):
			t.Errorf("q4 judged %+v, want the purple claim unsupported", sc)
		case res.CaseID == "q7" && ok:
			t.Errorf("q7 (no answer) judged %+v, want no verdict", sc)
		case res.CaseID == "q0" && (!ok || !sc.Pass || sc.Value != 1):
			t.Errorf("q0 judged %+v, want supported", sc)
		}
	}
}

// TestGroundingJudgeFailure: a judge that cannot be reached leaves every
// answer unjudged and counted as such, never as grounded or not.
func TestGroundingJudgeFailure(t *testing.T) {
	srv := providertest.NewOpenAIServer(t, providertest.Text(func(providertest.ChatRequest) (string, *providertest.HTTPError) {
		return "", &providertest.HTTPError{Status: 401, Message: "Incorrect API key provided"}
	}))
	target := judgedTarget(t, srv.URL)
	cases := []lab.Example{{ID: "a", Input: "What colour is alpha?", Expected: "red"}, {ID: "b", Input: "Guess alpha.", Expected: "red"}}
	st := openStore(t, filepath.Join(t.TempDir(), "db"))
	r := &Runner{Store: st, Scorers: []lab.Scorer{exactScorer{}}, Primary: "exact", Concurrency: 1}
	info := runInfo("r", []Target{target}, len(cases), 1)
	out, err := r.Run(context.Background(), info, []Target{target}, cases)
	if err != nil {
		t.Fatal(err)
	}
	results, err := st.Results(context.Background(), "r")
	if err != nil {
		t.Fatal(err)
	}
	rs := Summarize(info, results).Candidates[0].Retrieval
	if out.Errors != 0 || rs.GroundedBy != "judge" || rs.JudgeErrors != 2 || rs.Judged != 0 || rs.HallucinationRate != 0 {
		t.Errorf("errors %d, summary %+v; want the calls kept, both answers counted as judge errors and none judged", out.Errors, rs)
	}
	if sc := results[0].Scores[ScoreJudgeError]; !strings.Contains(sc.Reason, "401") || !strings.Contains(sc.Reason, "judge openai-compatible:") {
		t.Errorf("judge error %q, want the judge and its HTTP status named", sc.Reason)
	}
}

// judgedTarget is a retrieval candidate on the guessing model whose answers
// are judged by the OpenAI-compatible server at url.
func judgedTarget(t *testing.T, url string) Target {
	t.Helper()
	ref, err := provider.ParseRef("openai-compatible:" + url + "#judge-model")
	if err != nil {
		t.Fatal(err)
	}
	jp, err := provider.New(provider.Config{Ref: ref})
	if err != nil {
		t.Fatal(err)
	}
	task := lab.Task{Name: "q", Description: "Answer.", Output: lab.OutputText}
	v := prompt.Expand(lab.Variant{Name: "zs"}, task)
	b, err := prompt.NewBuilder(task, v, nil)
	if err != nil {
		t.Fatal(err)
	}
	return Target{
		Candidate: lab.Candidate{ID: "m/zs+rag", Model: "local:guesser", Variant: v, Retrieval: &lab.Retrieval{Index: "i", Mode: "bm25", K: 2}},
		Builder:   b, Provider: guessingModel{}, Retrieve: fixedKnowledge, Judge: &GroundJudge{Model: ref.String(), Provider: jp},
	}
}
