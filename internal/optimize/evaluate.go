// Package optimize searches automatically for a better prompt for a task:
// it bootstraps few-shot demonstration sets from the train split, asks a
// model to propose rewritten instructions, and scores every combination on
// the validation split within a budget of model calls, in the spirit of
// DSPy's BootstrapFewShot and MIPRO optimisers. It never reads the test
// split: every rung of the ladder is compared on test afterwards, and a
// search that peeked at test would make the optimised rung look better than
// it is.
package optimize

import (
	"context"
	"fmt"
	"sync"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/provider"
)

// CaseResult is one case's outcome under one variant.
type CaseResult struct {
	ID       string  `json:"id"`
	Input    string  `json:"input"`
	Expected string  `json:"expected"`
	Output   string  `json:"output"`
	Answer   string  `json:"answer"`
	Pass     bool    `json:"pass"`
	Score    float64 `json:"score"`
	Error    string  `json:"error,omitempty"`
}

// Result is a variant's outcome over a list of cases, in the order given.
type Result struct {
	Cases []CaseResult `json:"cases"`
	// Calls counts the requests made for it (a failed one included), sent
	// to the model or, through a CachedProvider, answered from the cache.
	Calls int `json:"calls"`
}

// Score is the mean scorer value over the cases, 0 for none.
func (r Result) Score() float64 {
	if len(r.Cases) == 0 {
		return 0
	}
	sum := 0.0
	for _, c := range r.Cases {
		sum += c.Score
	}
	return sum / float64(len(r.Cases))
}

// Errors counts the cases whose call failed.
func (r Result) Errors() int {
	n := 0
	for _, c := range r.Cases {
		if c.Error != "" {
			n++
		}
	}
	return n
}

// Evaluator runs variant v (as written in a config, not yet expanded) over
// cases and scores the answers. It returns an error only when the variant
// cannot be rendered or ctx ends; a failed call is a failed case.
type Evaluator func(ctx context.Context, v lab.Variant, cases []lab.Example) (Result, error)

// NewEvaluator returns an Evaluator that renders with the prompt package
// (demonstrations drawn from train), calls model with at most concurrency
// requests in flight, extracts the answer and scores it with scorer.
// modelName is the backend's own model name (provider.Ref.Model).
func NewEvaluator(task lab.Task, model provider.Provider, modelName string, params lab.Params, scorer lab.Scorer, train []lab.Example, concurrency int) Evaluator {
	conc := max(concurrency, 1)
	return func(ctx context.Context, v lab.Variant, cases []lab.Example) (Result, error) {
		ev := prompt.Expand(v, task)
		b, err := prompt.NewBuilder(task, ev, train)
		if err != nil {
			return Result{}, fmt.Errorf("optimize: variant %q: %w", v.Name, err)
		}
		// Render everything first so a bad template fails before any call
		// is paid for.
		reqs := make([]provider.Request, len(cases))
		for i, ex := range cases {
			msgs, err := b.Messages(ex)
			if err != nil {
				return Result{}, fmt.Errorf("optimize: variant %q: %w", v.Name, err)
			}
			reqs[i] = provider.Request{
				Model:       modelName,
				Messages:    msgs,
				MaxTokens:   params.MaxTokens,
				Temperature: params.Temperature,
				Seed:        params.Seed,
			}
			if len(ev.JSONSchema) > 0 {
				reqs[i].JSONSchema = ev.JSONSchema
				reqs[i].SchemaName = "answer"
			}
		}

		res := Result{Cases: make([]CaseResult, len(cases))}
		var (
			mu       sync.Mutex
			firstErr error
			wg       sync.WaitGroup
		)
		next := make(chan int)
		for w := 0; w < min(conc, len(cases)); w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range next {
					cr, called, err := evalOne(ctx, model, b, scorer, cases[i], reqs[i])
					mu.Lock()
					if called {
						res.Calls++
					}
					if err != nil && firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					res.Cases[i] = cr
				}
			}()
		}
	feed:
		for i := range cases {
			select {
			case next <- i:
			case <-ctx.Done():
				break feed
			}
		}
		close(next)
		wg.Wait()
		if firstErr == nil && ctx.Err() != nil {
			firstErr = ctx.Err()
		}
		if firstErr != nil {
			return res, fmt.Errorf("optimize: variant %q: %w", v.Name, firstErr)
		}
		return res, nil
	}
}

// evalOne makes one call. err is set only when ctx ended; called says
// whether the request reached the model.
func evalOne(ctx context.Context, model provider.Provider, b *prompt.Builder, scorer lab.Scorer, ex lab.Example, req provider.Request) (cr CaseResult, called bool, err error) {
	cr = CaseResult{ID: ex.ID, Input: ex.Input, Expected: ex.Expected}
	if ctx.Err() != nil {
		return cr, false, ctx.Err()
	}
	resp, cerr := model.Complete(ctx, req)
	if cerr != nil {
		if ctx.Err() != nil {
			return cr, true, ctx.Err()
		}
		cr.Error = cerr.Error()
		return cr, true, nil
	}
	cr.Output = resp.Text
	cr.Answer = b.Extract(resp.Text)
	sc, serr := scorer.Score(ctx, ex, cr.Answer)
	if serr != nil {
		if ctx.Err() != nil {
			return cr, true, ctx.Err()
		}
		cr.Error = fmt.Sprintf("scorer %s: %v", scorer.Name(), serr)
		return cr, true, nil
	}
	cr.Pass, cr.Score = sc.Pass, sc.Value
	return cr, true, nil
}
