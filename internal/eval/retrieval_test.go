package eval

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/retrieval"
)

// readerModel answers with the colour a passage in its prompt names
// ("... the colour is red"), or with fallback when the prompt has none:
// a model that uses what it is given, or (fallback set, always) one that
// ignores it.
type readerModel struct {
	fallback string
	always   bool
	mu       sync.Mutex
	prompts  []string
}

var colourRE = regexp.MustCompile(`colour is (\w+)`)

func (m *readerModel) Name() string { return "reader" }

func (m *readerModel) Complete(_ context.Context, req provider.Request) (*provider.Response, error) {
	last := req.Messages[len(req.Messages)-1].Content
	m.mu.Lock()
	m.prompts = append(m.prompts, last)
	m.mu.Unlock()
	answer := m.fallback
	if g := colourRE.FindStringSubmatch(last); g != nil && !m.always {
		answer = g[1]
	}
	return &provider.Response{Text: answer, Latency: time.Millisecond}, nil
}

// fixedKnowledge retrieves the red page for questions about alpha and the
// blue page for anything else.
func fixedKnowledge(_ context.Context, query string) ([]retrieval.Hit, error) {
	if strings.Contains(query, "alpha") {
		return []retrieval.Hit{
			{Chunk: retrieval.Chunk{ID: "kb/alpha.md#0", DocID: "kb/alpha.md", Heading: "Alpha", Text: "For alpha the colour is red."}},
			{Chunk: retrieval.Chunk{ID: "kb/beta.md#0", DocID: "kb/beta.md", Heading: "Beta", Text: "For beta the colour is blue."}},
		}, nil
	}
	return []retrieval.Hit{
		{Chunk: retrieval.Chunk{ID: "kb/beta.md#0", DocID: "kb/beta.md", Heading: "Beta", Text: "For beta the colour is blue."}},
		{Chunk: retrieval.Chunk{ID: "kb/alpha.md#0", DocID: "kb/alpha.md", Heading: "Alpha", Text: "For alpha the colour is red."}},
	}, nil
}

func TestRunWithRetrieval(t *testing.T) {
	task := lab.Task{Name: "q", Description: "Answer.", Output: lab.OutputText}
	// Every question's answer is red, in alpha.md; half the questions
	// mention alpha (retrieval finds the page first), half do not (it
	// comes second).
	var cases []lab.Example
	for i := 0; i < 10; i++ {
		topic := "alpha"
		if i%2 == 1 {
			topic = "the thing"
		}
		cases = append(cases, lab.Example{ID: fmt.Sprintf("q%02d", i), Input: "What colour is " + topic + "?", Expected: "red", Meta: map[string]string{"source": "alpha.md"}})
	}
	tests := []struct {
		name                                string
		model                               *readerModel
		accuracy, recall, mrr, hallucinated float64
	}{
		{"a model that uses the passages", &readerModel{fallback: "green"}, 0.5, 1, 0.75, 0},
		{"a model that ignores them", &readerModel{fallback: "purple", always: true}, 0, 1, 0.75, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := prompt.Expand(lab.Variant{Name: "zs"}, task)
			b, err := prompt.NewBuilder(task, v, nil)
			if err != nil {
				t.Fatal(err)
			}
			target := Target{
				Candidate: lab.Candidate{ID: "m/zs+rag", Model: "local:reader", Variant: v, Retrieval: &lab.Retrieval{Index: "i", Mode: "bm25", K: 2}},
				Builder:   b, Provider: tc.model, Retrieve: fixedKnowledge,
			}
			st := openStore(t, filepath.Join(t.TempDir(), "db"))
			run := runInfo("r", []Target{target}, len(cases), 1)
			r := &Runner{Store: st, Scorers: []lab.Scorer{exactScorer{}}, Primary: "exact", Concurrency: 2}
			if _, err := r.Run(context.Background(), run, []Target{target}, cases); err != nil {
				t.Fatal(err)
			}
			results, err := st.Results(context.Background(), "r")
			if err != nil {
				t.Fatal(err)
			}
			for _, res := range results {
				if len(res.Retrieved) != 2 || !strings.HasPrefix(res.Retrieved[0], "kb/") {
					t.Fatalf("case %s: stored retrieved chunks %v, want the two kb chunks", res.CaseID, res.Retrieved)
				}
			}
			if p := tc.model.prompts[0]; !strings.Contains(p, "[kb/alpha.md#0] Alpha\nFor alpha the colour is red.") || !strings.Contains(p, "Cite the id") {
				t.Errorf("the prompt does not show the passages under their ids:\n%s", p)
			}
			s := Summarize(run, results).Candidates[0]
			rs := s.Retrieval
			if rs == nil {
				t.Fatal("no retrieval summary")
			}
			got := []float64{s.Accuracy, rs.Recall, rs.MRR, rs.HallucinationRate}
			want := []float64{tc.accuracy, tc.recall, tc.mrr, tc.hallucinated}
			for i, name := range []string{"accuracy", "recall@k", "MRR", "hallucination rate"} {
				if math.Abs(got[i]-want[i]) > 1e-9 {
					t.Errorf("%s = %v, want %v", name, got[i], want[i])
				}
			}
			if rs.Labelled != 10 || rs.Judged != 10 {
				t.Errorf("labelled %d, judged %d; want 10 and 10", rs.Labelled, rs.Judged)
			}
			if _, ok := s.Scores[ScoreRecall]; ok {
				t.Errorf("retrieval measurements leak into the scorer averages: %v", s.Scores)
			}
		})
	}
}

func TestRetrieveErrorIsRecorded(t *testing.T) {
	task := lab.Task{Name: "q", Description: "Answer.", Output: lab.OutputText}
	v := prompt.Expand(lab.Variant{Name: "zs"}, task)
	b, err := prompt.NewBuilder(task, v, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := &readerModel{fallback: "x"}
	target := Target{
		Candidate: lab.Candidate{ID: "m/zs+rag", Model: "local:reader", Variant: v, Retrieval: &lab.Retrieval{Index: "i", Mode: "bm25", K: 2}},
		Builder:   b, Provider: m,
		Retrieve: func(context.Context, string) ([]retrieval.Hit, error) {
			return nil, fmt.Errorf("index is locked")
		},
	}
	st := openStore(t, filepath.Join(t.TempDir(), "db"))
	cases := []lab.Example{{ID: "a", Input: "q?", Expected: "x"}}
	run := runInfo("r", []Target{target}, 1, 1)
	r := &Runner{Store: st, Scorers: []lab.Scorer{exactScorer{}}, Primary: "exact", Concurrency: 1, FailFast: 5}
	out, err := r.Run(context.Background(), run, []Target{target}, cases)
	if err != nil {
		t.Fatal(err)
	}
	results, _ := st.Results(context.Background(), "r")
	if out.Errors != 1 || len(m.prompts) != 0 || len(results) != 1 || !strings.Contains(results[0].Error, "retrieve: index is locked") {
		t.Errorf("errors %d, model calls %d, results %+v; want the retrieval error recorded and no call made", out.Errors, len(m.prompts), results)
	}
}
