package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
)

// retrievalDoc has one retrieval candidate in the main run and a RAG rung
// of one model, so both retrieval sections render.
func retrievalDoc() Document {
	q := lab.Example{ID: "q1", Input: "How long do refunds take?", Expected: "5 days", Meta: map[string]string{"source": "refunds.md"}}
	rs := &eval.RetrievalSummary{Mode: "bm25", K: 2, Recall: 0.75, MRR: 0.5, Labelled: 4, Groundedness: 0.6, HallucinationRate: 0.25, Judged: 4}
	return Document{
		Task: lab.Task{Name: "faq"},
		Summary: eval.Summary{Cases: 1, Repeats: 1, Primary: "contains", Best: "m/zs+rag", Complete: true, Candidates: []eval.CandidateSummary{
			{ID: "m/zs+rag", Model: "local:m", Variant: "zs+rag", Accuracy: 1, Calls: 1, Retrieval: rs},
		}},
		Cases: []lab.Example{q},
		// A miss, so the case is among those the report lists.
		Results: []lab.CallResult{{CandidateID: "m/zs+rag", CaseID: "q1", Answer: "6 days", Retrieved: []string{"kb/refunds.md#0", "kb/ship.md#1"}}},
		Knowledge: &Knowledge{
			Headline:  "Retrieval helps.",
			Rows:      []KnowledgeRow{{Model: "local:m", Without: 0.25, With: 0.75, Diff: 50, DiffLow: 10, DiffHigh: 90, P: 0.03, Groundedness: 0.6, Hallucination: 0.25}},
			Questions: []lab.Example{q},
			Results: []lab.CallResult{
				{CandidateID: "m/zs", CaseID: "q1", Answer: "no idea"},
				{CandidateID: "m/zs+rag", CaseID: "q1", Answer: "5 days", Pass: true, Retrieved: []string{"kb/refunds.md#0"}},
			},
			Pairs: [][2]string{{"m/zs", "m/zs+rag"}},
		},
	}
}

func TestRetrievalSections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.html")
	if err := WriteHTML(path, retrievalDoc()); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := Table(&table, retrievalDoc().Summary); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, text, want string
	}{
		{"metrics table", string(raw), "<td>m/zs&#43;rag</td><td>bm25</td><td class=\"num\">2</td><td class=\"num\">75.0%</td><td class=\"num\">0.50</td><td class=\"num\">60.0%</td><td class=\"num\">25.0%</td>"},
		{"chunks beside the answer", string(raw), "retrieved: kb/refunds.md#0 kb/ship.md#1"},
		{"RAG rung comparison", string(raw), "<td>local:m</td><td class=\"num\">25.0%</td><td class=\"num\">75.0%</td><td class=\"num\">&#43;50.0 (&#43;10.0 to &#43;90.0)</td>"},
		{"RAG rung answers with their chunks", string(raw), "5 days ✓<br><small>retrieved: kb/refunds.md#0</small>"},
		{"terminal line", table.String(), "retrieval m/zs+rag (bm25, k=2): recall@2 75.0%, MRR 0.50 over 4 calls with a source; groundedness 60.0%, hallucination rate 25.0% over 4 answers"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(tc.text, tc.want) {
				t.Errorf("no %q in the output", tc.want)
			}
		})
	}
}
