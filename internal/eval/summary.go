package eval

import (
	"cmp"
	"math"
	"sort"

	"github.com/tunelab/tunelab/internal/eval/stats"
	"github.com/tunelab/tunelab/internal/lab"
)

// Bootstrap settings for intervals and paired tests. Fixed seeds keep a
// report reproducible: the same results always print the same interval.
const (
	bootstrapIters = 2000
	bootstrapSeed  = 1
	confidence     = 0.95
	alpha          = 0.05
)

// Summary is the measured comparison of a run's candidates. Its JSON form
// is the documented output of `tunelab eval --json` (docs/results.md).
type Summary struct {
	RunID      string             `json:"run_id"`
	Lab        string             `json:"lab"`
	Dataset    string             `json:"dataset"`
	Cases      int                `json:"cases"`
	Repeats    int                `json:"repeats"`
	Primary    string             `json:"primary_scorer"`
	Complete   bool               `json:"complete"`
	Missing    int                `json:"missing_calls"`
	Best       string             `json:"best"`
	Candidates []CandidateSummary `json:"candidates"`
}

// CandidateSummary is one candidate's measurements.
type CandidateSummary struct {
	ID          string             `json:"id"`
	Model       string             `json:"model"`
	Variant     string             `json:"variant"`
	Technique   string             `json:"technique,omitempty"`
	Calls       int                `json:"calls"`
	Accuracy    float64            `json:"accuracy"`
	CILow       float64            `json:"ci_low"`
	CIHigh      float64            `json:"ci_high"`
	Scores      map[string]float64 `json:"scores"`
	LatencyP50  float64            `json:"latency_p50_ms"`
	LatencyP95  float64            `json:"latency_p95_ms"`
	TokensIn    float64            `json:"tokens_in_mean"`
	TokensOut   float64            `json:"tokens_out_mean"`
	CostPer1K   float64            `json:"cost_per_1k_usd"`
	Consistency *float64           `json:"consistency,omitempty"`
	ErrorRate   float64            `json:"error_rate"`
	Errors      int                `json:"errors"`
	// ErrorKinds counts the failed calls by cause (see ErrorKind).
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`
	// Retries counts the attempts made beyond each call's first.
	Retries int         `json:"retries"`
	VsBest  *Comparison `json:"vs_best,omitempty"`
	// Retrieval is set for candidates that retrieve knowledge.
	Retrieval *RetrievalSummary `json:"retrieval,omitempty"`
}

// Comparison is a paired test of a candidate against the best one on the
// same cases.
type Comparison struct {
	Against     string  `json:"against"`
	Method      string  `json:"method"` // mcnemar or paired-bootstrap
	Diff        float64 `json:"diff"`   // this minus best, in accuracy
	DiffLow     float64 `json:"diff_low"`
	DiffHigh    float64 `json:"diff_high"`
	P           float64 `json:"p"`
	Significant bool    `json:"significant"`
}

// Summarize measures every candidate of run from its stored results.
func Summarize(run lab.RunInfo, results []lab.CallResult) Summary {
	s := Summary{RunID: run.ID, Lab: run.Lab, Dataset: run.Dataset, Cases: run.Cases, Repeats: max(run.Repeats, 1), Primary: run.PrimaryScorer}
	byCand := map[string][]lab.CallResult{}
	for _, r := range results {
		byCand[r.CandidateID] = append(byCand[r.CandidateID], r)
	}
	// Per-case mean of the primary pass, per candidate, for paired tests.
	perCase := map[string]map[string]float64{}
	firstPass := map[string]map[string]bool{}
	expected := run.Cases * s.Repeats
	for _, c := range run.Candidates {
		rs := byCand[c.ID]
		cs, pc, fp := summarizeCandidate(c, rs)
		perCase[c.ID], firstPass[c.ID] = pc, fp
		if missing := expected - len(rs); missing > 0 {
			s.Missing += missing
		}
		s.Candidates = append(s.Candidates, cs)
	}
	s.Complete = s.Missing == 0
	sort.SliceStable(s.Candidates, func(i, j int) bool {
		a, b := s.Candidates[i], s.Candidates[j]
		if a.Accuracy != b.Accuracy {
			return a.Accuracy > b.Accuracy
		}
		// Among equals, one that answered beats one that failed to.
		if a.ErrorRate != b.ErrorRate {
			return a.ErrorRate < b.ErrorRate
		}
		return a.CostPer1K < b.CostPer1K
	})
	if len(s.Candidates) == 0 {
		return s
	}
	best := s.Candidates[0].ID
	s.Best = best
	for i := range s.Candidates[1:] {
		c := &s.Candidates[i+1]
		c.VsBest = compare(c.ID, best, perCase, firstPass, s.Repeats)
	}
	return s
}

func summarizeCandidate(c lab.Candidate, rs []lab.CallResult) (CandidateSummary, map[string]float64, map[string]bool) {
	cs := CandidateSummary{ID: c.ID, Model: c.Model, Variant: c.Variant.Name, Technique: c.Variant.Technique, Calls: len(rs), Scores: map[string]float64{}}
	if len(rs) == 0 {
		cs.Accuracy, cs.CILow, cs.CIHigh = math.NaN(), math.NaN(), math.NaN()
		return cs, nil, nil
	}
	var lat, tin, tout, cost []float64
	scoreSums := map[string]float64{}
	caseSum := map[string]float64{}
	caseN := map[string]int{}
	answers := map[string][]string{}
	firstPass := map[string]bool{}
	passes := 0
	for _, r := range rs {
		cs.Retries += max(r.Attempts-1, 0)
		if r.Error != "" {
			cs.Errors++
			if cs.ErrorKinds == nil {
				cs.ErrorKinds = map[string]int{}
			}
			cs.ErrorKinds[cmp.Or(r.ErrorKind, ErrOther)]++
		} else {
			lat = append(lat, r.LatencyMS)
			tin = append(tin, float64(r.TokensIn))
			tout = append(tout, float64(r.TokensOut))
			cost = append(cost, r.Cost)
		}
		if r.Pass {
			passes++
			caseSum[r.CaseID]++
		}
		caseN[r.CaseID]++
		if r.Repeat == 0 {
			firstPass[r.CaseID] = r.Pass
		}
		answers[r.CaseID] = append(answers[r.CaseID], r.Answer)
		for name, sc := range r.Scores {
			if !IsRetrievalScore(name) {
				scoreSums[name] += sc.Value
			}
		}
	}
	if c.Retrieval != nil {
		cs.Retrieval = summarizeRetrieval(c.Retrieval, rs)
	}
	n := float64(len(rs))
	cs.Accuracy = float64(passes) / n
	cs.ErrorRate = float64(cs.Errors) / n
	for name, sum := range scoreSums {
		// Errored calls have no scores and count as zero.
		cs.Scores[name] = sum / n
	}
	perCase := make(map[string]float64, len(caseN))
	caseMeans := make([]float64, 0, len(caseN))
	ids := make([]string, 0, len(caseN))
	for id := range caseN {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		m := caseSum[id] / float64(caseN[id])
		perCase[id] = m
		caseMeans = append(caseMeans, m)
	}
	// Cases, not calls, are the independent unit: repeats of one case are
	// correlated, so the interval resamples cases.
	cs.CILow, cs.CIHigh = stats.BootstrapCI(caseMeans, bootstrapIters, confidence, bootstrapSeed)
	if len(lat) > 0 {
		cs.LatencyP50 = stats.Percentile(lat, 50)
		cs.LatencyP95 = stats.Percentile(lat, 95)
		cs.TokensIn = stats.Mean(tin)
		cs.TokensOut = stats.Mean(tout)
		cs.CostPer1K = stats.Mean(cost) * 1000
	}
	groups := make([][]string, 0, len(answers))
	multi := false
	for _, id := range ids {
		groups = append(groups, answers[id])
		if len(answers[id]) > 1 {
			multi = true
		}
	}
	if multi {
		a := stats.Agreement(groups)
		cs.Consistency = &a
	}
	return cs, perCase, firstPass
}

// compare tests a candidate against the best on the cases both answered.
// With one repeat each case is a pass/fail pair and McNemar's test fits;
// with repeats the per-case pass rates are compared by paired bootstrap.
func compare(id, best string, perCase map[string]map[string]float64, firstPass map[string]map[string]bool, repeats int) *Comparison {
	a, b := perCase[id], perCase[best]
	if a == nil || b == nil {
		return nil
	}
	var ids []string
	for cid := range a {
		if _, ok := b[cid]; ok {
			ids = append(ids, cid)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	sort.Strings(ids)
	xs := make([]float64, len(ids))
	ys := make([]float64, len(ids))
	for i, cid := range ids {
		xs[i], ys[i] = a[cid], b[cid]
	}
	diff, lo, hi, p := stats.PairedBootstrap(xs, ys, bootstrapIters, bootstrapSeed)
	c := &Comparison{Against: best, Method: "paired-bootstrap", Diff: diff, DiffLow: lo, DiffHigh: hi, P: p}
	if repeats == 1 {
		pa := make([]bool, len(ids))
		pb := make([]bool, len(ids))
		for i, cid := range ids {
			pa[i], pb[i] = firstPass[id][cid], firstPass[best][cid]
		}
		_, _, c.P = stats.McNemar(pa, pb)
		c.Method = "mcnemar"
	}
	c.Significant = c.P < alpha
	return c
}
