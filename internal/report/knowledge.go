package report

import (
	"sort"
	"strings"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/retrieval"
)

// Knowledge is the ladder's retrieval rung in the report: each model with
// and without retrieval on the knowledge questions, and the answers beside
// the chunks they were given.
type Knowledge struct {
	Headline string
	Rows     []KnowledgeRow
	// Questions and Results are the rung's run; Pairs name, per model, the
	// candidates without and with retrieval whose answers are shown.
	Questions []lab.Example
	Results   []lab.CallResult
	Pairs     [][2]string

	// Filled by WriteHTML.
	Columns []string
	Answers []knowledgeRow
}

// KnowledgeRow is one model's comparison; differences in points.
type KnowledgeRow struct {
	Model                       string
	Without, With               float64
	Diff, DiffLow, DiffHigh     float64
	P                           float64
	Groundedness, Hallucination float64
}

type knowledgeRow struct {
	Input, Expected, Source string
	Answers                 []answerCell
}

// maxKnowledgeAnswers bounds the answers table so the page stays readable.
const maxKnowledgeAnswers = 100

// retrievalRows returns the candidates that retrieve, in summary order.
func retrievalRows(s eval.Summary) []eval.CandidateSummary {
	var out []eval.CandidateSummary
	for _, c := range s.Candidates {
		if c.Retrieval != nil {
			out = append(out, c)
		}
	}
	return out
}

// fill lays the questions out with every paired candidate's first answer
// and the chunk ids it retrieved.
func (k *Knowledge) fill() {
	k.Columns, k.Answers = nil, nil
	var cands []string
	for _, p := range k.Pairs {
		cands = append(cands, p[0], p[1])
	}
	k.Columns = cands
	type key struct{ cand, cs string }
	first := map[key]lab.CallResult{}
	for _, r := range k.Results {
		if r.Repeat == 0 {
			first[key{r.CandidateID, r.CaseID}] = r
		}
	}
	qs := append([]lab.Example(nil), k.Questions...)
	sort.SliceStable(qs, func(i, j int) bool { return qs[i].ID < qs[j].ID })
	for i, q := range qs {
		if i == maxKnowledgeAnswers {
			break
		}
		row := knowledgeRow{Input: shorten(q.Input, 200), Expected: q.Expected, Source: strings.Join(retrieval.ParseSources(q.Meta["source"]), ", ")}
		for _, c := range cands {
			r := first[key{c, q.ID}]
			row.Answers = append(row.Answers, answerCell{Answer: shorten(r.Answer, 200), Pass: r.Pass, Error: shorten(r.Error, 120), Retrieved: strings.Join(r.Retrieved, " ")})
		}
		k.Answers = append(k.Answers, row)
	}
}
