package eval

import (
	"context"
	"fmt"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/retrieval"
)

// Retrieval measurements are kept with each call's scores under these
// names (config reserves the "retrieval." prefix), so they are stored,
// resumed and cached with the call like any score.
const (
	// ScoreRecall is recall@k of the case's meta.source documents (cases
	// without a source get none).
	ScoreRecall = "retrieval.recall"
	// ScoreMRR is the reciprocal rank of the first chunk from a source.
	ScoreMRR = "retrieval.mrr"
	// ScoreGrounded is the share of the answer's content words found in
	// the retrieved passages; Pass means at least GroundedThreshold.
	ScoreGrounded = "retrieval.grounded"
)

// IsRetrievalScore reports whether a score name is a retrieval measurement
// rather than a configured scorer.
func IsRetrievalScore(name string) bool { return strings.HasPrefix(name, "retrieval.") }

// Retrieve finds the knowledge chunks for a query, best first.
type Retrieve func(ctx context.Context, query string) ([]retrieval.Hit, error)

// retrieve runs a target's retrieval for one case and returns the passages
// for the prompt.
func retrieve(ctx context.Context, t *Target, ex lab.Example) ([]retrieval.Hit, []prompt.Passage, error) {
	hits, err := t.Retrieve(ctx, ex.Input)
	if err != nil {
		return nil, nil, fmt.Errorf("retrieve: %w", err)
	}
	ps := make([]prompt.Passage, len(hits))
	for i, h := range hits {
		// The label adds the chunk's location (a PDF page) to its heading.
		ps[i] = prompt.Passage{ID: h.Chunk.ID, Heading: h.Chunk.Label(), Text: h.Chunk.Text}
	}
	return hits, ps, nil
}

// retrievalScores measures one retrieval call: recall@k and MRR against
// the case's meta.source, and how grounded the answer is in what was
// retrieved.
func retrievalScores(hits []retrieval.Hit, ex lab.Example, answer string, scores map[string]lab.Score) {
	if sources := retrieval.ParseSources(ex.Meta["source"]); len(sources) > 0 {
		rec := retrieval.SourceRecall(hits, sources, 0)
		scores[ScoreRecall] = lab.Score{Value: rec, Pass: rec == 1}
		mrr := retrieval.SourceMRR(hits, sources)
		scores[ScoreMRR] = lab.Score{Value: mrr, Pass: mrr > 0}
	}
	texts := make([]string, len(hits))
	for i, h := range hits {
		texts[i] = h.Chunk.Heading + "\n" + h.Chunk.Text
	}
	if g, ok := retrieval.Groundedness(answer, texts); ok {
		sc := lab.Score{Value: g, Pass: g >= retrieval.GroundedThreshold}
		if !sc.Pass {
			sc.Reason = fmt.Sprintf("%.0f%% of the answer's words are in the retrieved text", 100*g)
		}
		scores[ScoreGrounded] = sc
	}
}

// RetrievalSummary measures a retrieval candidate's search and how its
// answers use what was found.
type RetrievalSummary struct {
	Mode string `json:"mode"`
	K    int    `json:"k"`
	// Rerank is the model that reordered the search's chunks, if any.
	Rerank string `json:"rerank,omitempty"`
	// Recall is mean recall@k over the calls whose case names a source
	// (Labelled of them); MRR the mean reciprocal rank over the same.
	Recall   float64 `json:"recall_at_k"`
	MRR      float64 `json:"mrr"`
	Labelled int     `json:"labelled_calls"`
	// GroundedBy says how groundedness was judged: "judge" when a model
	// judged the answers (retrieval.judge), else "overlap" (the share of
	// the answer's words found in the retrieved text).
	GroundedBy string `json:"grounded_by"`
	// Groundedness is the mean judged share, over the Judged answers that
	// claimed anything: of the answer's claims the judge found supported,
	// or of its content words found in the retrieved text.
	// HallucinationRate is the share of those answers with an unsupported
	// claim (judge), or below the grounded threshold (overlap).
	Groundedness      float64 `json:"groundedness"`
	HallucinationRate float64 `json:"hallucination_rate"`
	Judged            int     `json:"answers_judged"`
	// JudgeErrors counts answers the judge could not judge (its call
	// failed or its reply was unreadable): left out of Judged, not hidden.
	JudgeErrors int `json:"judge_errors,omitempty"`
	// OverlapGroundedness and OverlapHallucinationRate are the word-overlap
	// measures, kept beside a judge's to compare; with no judge they equal
	// Groundedness and HallucinationRate.
	OverlapGroundedness      float64 `json:"overlap_groundedness"`
	OverlapHallucinationRate float64 `json:"overlap_hallucination_rate"`
}

// summarizeRetrieval measures a candidate's retrieval calls. When any
// answer went to a groundedness judge, the judge's verdicts are the
// groundedness and hallucination rate (word overlap is kept beside them);
// otherwise word overlap is.
func summarizeRetrieval(r *lab.Retrieval, rs []lab.CallResult) *RetrievalSummary {
	s := &RetrievalSummary{Mode: r.Mode, K: r.K, Rerank: r.Rerank, GroundedBy: "overlap"}
	var rec, mrr float64
	var overlap, judge grounding
	for _, res := range rs {
		if sc, ok := res.Scores[ScoreRecall]; ok {
			s.Labelled++
			rec += sc.Value
			mrr += res.Scores[ScoreMRR].Value
		}
		if sc, ok := res.Scores[ScoreGrounded]; ok {
			overlap.add(sc)
		}
		if sc, ok := res.Scores[ScoreJudged]; ok {
			judge.add(sc)
		}
		if res.Error == "" && judgeFailed(res) {
			s.JudgeErrors++
		}
	}
	if s.Labelled > 0 {
		s.Recall, s.MRR = rec/float64(s.Labelled), mrr/float64(s.Labelled)
	}
	s.OverlapGroundedness, s.OverlapHallucinationRate, s.Judged = overlap.rates()
	s.Groundedness, s.HallucinationRate = s.OverlapGroundedness, s.OverlapHallucinationRate
	if judge.n > 0 || s.JudgeErrors > 0 {
		s.GroundedBy = "judge"
		s.Groundedness, s.HallucinationRate, s.Judged = judge.rates()
	}
	return s
}

// grounding sums one groundedness measure over answers.
type grounding struct {
	n, ungrounded int
	sum           float64
}

func (g *grounding) add(sc lab.Score) {
	g.n++
	g.sum += sc.Value
	if !sc.Pass {
		g.ungrounded++
	}
}

func (g grounding) rates() (mean, ungrounded float64, n int) {
	if g.n == 0 {
		return 0, 0, 0
	}
	return g.sum / float64(g.n), float64(g.ungrounded) / float64(g.n), g.n
}
