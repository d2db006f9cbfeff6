package optimize

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
)

// Cache keeps model responses between runs; a lab's store is one
// (lab.Store's CacheGet and CachePut).
type Cache interface {
	CacheGet(ctx context.Context, key string) (*provider.Response, bool, error)
	CachePut(ctx context.Context, key string, resp *provider.Response) error
}

// CachedProvider answers a request from the cache when the same request
// to the same model was answered before, and otherwise asks the model and
// keeps its answer. A search is a fixed plan of calls, seeded, so a search
// killed halfway and run again makes the same requests: the ones already
// answered cost nothing the second time, and get the answers the first run
// saw, which is what makes the second run reach the same outcome even with
// a sampling temperature above zero.
type CachedProvider struct {
	p     provider.Provider
	cache Cache
	model string
	count func(string) int

	hits, calls atomic.Int64
	mu          sync.Mutex
	putErr      error
}

// NewCachedProvider wraps p. model identifies what answers, as the
// evaluation runner keys its calls: the model reference, plus "@" and the
// file's fingerprint for a local model (eval.Target.ModelVersion), so the
// search and the evaluation runs share answers and a retrained file does
// not reuse its predecessor's. countTokens, when set, fills in the token
// counts a backend did not report, as the runner does, so that either can
// price an answer the other cached.
func NewCachedProvider(p provider.Provider, cache Cache, model string, countTokens func(string) int) *CachedProvider {
	return &CachedProvider{p: p, cache: cache, model: model, count: countTokens}
}

// Name is the wrapped provider's.
func (c *CachedProvider) Name() string { return c.p.Name() }

// Complete answers req from the cache or from the model.
func (c *CachedProvider) Complete(ctx context.Context, req provider.Request) (*provider.Response, error) {
	key := eval.CacheKey(c.model, req, -1)
	// A cache that cannot be read is treated as a miss: the call costs
	// money but gives the right answer.
	if resp, ok, err := c.cache.CacheGet(ctx, key); err == nil && ok {
		c.hits.Add(1)
		return resp, nil
	}
	start := time.Now()
	resp, err := c.p.Complete(ctx, req)
	if err != nil {
		return nil, err
	}
	c.calls.Add(1)
	if resp.Latency == 0 {
		resp.Latency = time.Since(start)
	}
	if c.count != nil {
		if resp.Usage.InputTokens == 0 {
			for _, m := range req.Messages {
				// Chat formats add a few tokens of framing per message,
				// as the runner counts them.
				resp.Usage.InputTokens += c.count(m.Content) + 4
			}
		}
		if resp.Usage.OutputTokens == 0 && resp.Text != "" {
			resp.Usage.OutputTokens = c.count(resp.Text)
		}
	}
	// An answer paid for is kept even when the search is being stopped:
	// that is what spares the next run the call.
	if err := c.cache.CachePut(context.WithoutCancel(ctx), key, resp); err != nil {
		c.mu.Lock()
		if c.putErr == nil {
			c.putErr = err
		}
		c.mu.Unlock()
	}
	return resp, nil
}

// Hits counts the requests answered from the cache, Calls those the model
// answered.
func (c *CachedProvider) Hits() int  { return int(c.hits.Load()) }
func (c *CachedProvider) Calls() int { return int(c.calls.Load()) }

// Err is the first failure to keep an answer, nil if every one was kept.
// The search itself is unaffected, but a run after it would pay again for
// the answers that were lost, so callers report it.
func (c *CachedProvider) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.putErr != nil {
		return fmt.Errorf("keep model answers for a later run: %w", c.putErr)
	}
	return nil
}

// ForTarget sets up the search for one runnable candidate: its model,
// answering through cache (nil: every request goes to the model), scored
// with scorer, with demonstrations drawn from train; with propose set the
// same model, through the same cache, also rewrites the instructions.
func ForTarget(task lab.Task, t eval.Target, scorer lab.Scorer, train []lab.Example, concurrency int, cache Cache, propose bool) (*Optimizer, error) {
	ref, err := provider.ParseRef(t.Candidate.Model)
	if err != nil {
		return nil, fmt.Errorf("optimize: %w", err)
	}
	p := t.Provider
	o := &Optimizer{Task: task}
	if cache != nil {
		model := t.Candidate.Model
		if t.ModelVersion != "" {
			model += "@" + t.ModelVersion
		}
		o.Cached = NewCachedProvider(p, cache, model, t.CountTokens)
		p = o.Cached
	}
	o.Eval = NewEvaluator(task, p, ref.Model, t.Candidate.Params, scorer, train, concurrency)
	if propose {
		o.Proposer, o.ProposerModel = p, ref.Model
	}
	return o, nil
}
