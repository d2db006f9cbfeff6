package eval

import (
	"context"
	"fmt"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/retrieval"
)

// Groundedness judged by a model (retrieval.judge). The judge's verdict
// is kept with the call's scores like the word-overlap measure, under its
// own name, so both can be compared; when a judge is configured its
// verdict is the one the summary reports (see summarizeRetrieval).
const (
	// ScoreJudged is the judge's verdict: Value is the share of the
	// answer's claims the retrieved chunks support, Pass that none is
	// unsupported.
	ScoreJudged = "retrieval.judged"
	// ScoreJudgeError records that the judge could not judge the answer
	// (its call failed, or its reply could not be read). Such answers are
	// counted apart, never as grounded or as hallucinations, and the call
	// is done again on resume (its answer then comes from the cache).
	ScoreJudgeError = "retrieval.judge_error"
)

// GroundJudge is the model that judges whether retrieval answers are
// supported by what was retrieved. Provider is built like a judge
// scorer's (internal/workspace: retries and rate limits included).
type GroundJudge struct {
	Model    string // provider:model, as configured
	Provider provider.Provider
}

// judgeGrounding asks t's judge about one answer and records its verdict
// or its failure in scores. Its calls go through the response cache like
// the model's own, so a rerun judges for free. ok is false when ctx was
// canceled, and the call must not be recorded.
func (r *Runner) judgeGrounding(ctx context.Context, g *GroundJudge, ex lab.Example, answer string, hits []retrieval.Hit, scores map[string]lab.Score) (ok bool) {
	ref, err := provider.ParseRef(g.Model)
	if err != nil {
		scores[ScoreJudgeError] = lab.Score{Reason: fmt.Sprintf("judge %s: %v", g.Model, err)}
		return true
	}
	system, user := retrieval.GroundingPrompt(ex.Input, answer, hits)
	// No temperature is set, as for the judge scorer: several current
	// models reject any sampling setting, and the reply's form is enforced
	// by parsing.
	req := provider.Request{
		Model:    ref.Model,
		Messages: []provider.Message{{Role: "system", Content: system}, {Role: "user", Content: user}},
	}
	key := CacheKey("judge:"+g.Model, req, -1)
	resp := r.cacheGet(ctx, key)
	if resp == nil {
		cctx, cancel := r.callContext(ctx)
		defer cancel()
		resp, err = g.Provider.Complete(cctx, req)
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			scores[ScoreJudgeError] = lab.Score{Reason: fmt.Sprintf("judge %s: %v", g.Model, err)}
			return true
		}
	}
	verdict, err := retrieval.ParseGrounding(resp.Text)
	if err != nil {
		// Not cached: an unreadable reply is asked for again next time.
		scores[ScoreJudgeError] = lab.Score{Reason: fmt.Sprintf("judge %s: %v", g.Model, err)}
		return true
	}
	if !r.NoCache {
		if err := r.Store.CachePut(ctx, key, resp); err != nil && ctx.Err() == nil {
			scores[ScoreJudgeError] = lab.Score{Reason: fmt.Sprintf("judge %s: cache write: %v", g.Model, err)}
			return true
		}
	}
	if v, claims := verdict.Value(); claims {
		scores[ScoreJudged] = lab.Score{Value: v, Pass: verdict.Grounded(), Reason: verdict.Reason()}
	}
	return true
}

// judgeFailed reports whether a result's answer still awaits a judge.
func judgeFailed(res lab.CallResult) bool {
	_, failed := res.Scores[ScoreJudgeError]
	return failed
}
