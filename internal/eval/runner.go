// Package eval runs candidates over test cases and measures them: the
// runner (concurrency, timeouts, response cache, resume) and the summary
// (accuracy with intervals, latency, tokens, cost, consistency, paired
// tests). Scorers live in eval/score and the statistics in eval/stats.
package eval

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/retrieval"
)

// Target is a candidate made ready to run: its prompt builder, the provider
// that serves its model and how to price a call.
type Target struct {
	Candidate lab.Candidate
	Builder   *prompt.Builder
	Provider  provider.Provider
	// Price returns the cost in USD of one call. Nil means free.
	Price func(tokensIn, tokensOut int, latency time.Duration) float64
	// CountTokens estimates tokens when the backend reports none.
	CountTokens func(text string) int
	// ModelVersion identifies what the model reference stands for when the
	// reference alone does not (a local model file, which can be replaced
	// or retrained under the same name); it is part of the cache key.
	ModelVersion string
	// Retrieve, for a retrieval candidate, finds the knowledge chunks put
	// into each case's prompt; their ids are recorded with the result.
	Retrieve Retrieve
	// Judge, for a retrieval candidate, judges whether each answer is
	// supported by the chunks retrieved for it (nil: word overlap only).
	Judge *GroundJudge
}

// Progress receives updates as calls finish. Implementations must be safe
// for concurrent use.
type Progress interface {
	Start(total, alreadyDone int)
	Done(r lab.CallResult)
	Finish()
}

// Runner executes runs. The zero value is not usable: set Store and Scorers.
type Runner struct {
	Store       lab.Store
	Scorers     []lab.Scorer
	Primary     string
	Concurrency int
	Timeout     time.Duration
	// NoCache makes every call go to the model even if an identical request
	// was answered before.
	NoCache  bool
	Progress Progress
	// FailFast stops the run when a model's first FailFast calls all fail
	// (after their retries): an unreachable server or a bad key should end
	// the run with one clear error, not thousands of failed calls. 0 means 3.
	FailFast int
	// Now is the clock; tests replace it.
	Now func() time.Time
}

// Outcome counts what a Run call did.
type Outcome struct {
	Total    int // calls in the run
	Resumed  int // found already finished in the store
	Called   int // sent to a model
	Cached   int // answered from the response cache
	Errors   int // calls that ended in an error
	Canceled bool
}

// ModelFailedError says a model failed every call the run made to it.
type ModelFailedError struct {
	Model string
	Calls int
	Err   string
}

func (e *ModelFailedError) Error() string {
	return fmt.Sprintf("model %s: the first %d calls all failed, so the run stopped; the last said: %s", e.Model, e.Calls, e.Err)
}

type job struct {
	target *Target
	ex     lab.Example
	repeat int
}

// Run executes every (candidate, case, repeat) of run that the store does
// not already hold a successful result for. Results are saved one by one as
// they arrive, so an interrupted run loses nothing and the next Run picks up
// where it stopped. A canceled context stops new calls, abandons calls in
// flight (they are redone next time) and returns with Outcome.Canceled.
func (r *Runner) Run(ctx context.Context, run lab.RunInfo, targets []Target, cases []lab.Example) (Outcome, error) {
	now := r.now()
	conc := r.Concurrency
	if conc < 1 {
		conc = 1
	}
	repeats := max(run.Repeats, 1)
	run, jobs, out, err := r.prepare(ctx, run, targets, cases, now)
	if err != nil {
		return out, err
	}
	if r.Progress != nil {
		r.Progress.Start(out.Total, out.Resumed)
		defer r.Progress.Finish()
	}

	failFast := r.failFast()
	var (
		mu       sync.Mutex
		saveErr  error
		wg       sync.WaitGroup
		okCalls  = map[string]int{}
		badCalls = map[string]int{}
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	queue := make(chan job)
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				res, cached, ok := r.call(ctx, run, j, repeats, now)
				if !ok {
					continue // canceled mid-call: not recorded, redone on resume
				}
				if err := r.Store.SaveResult(ctx, res); err != nil {
					mu.Lock()
					if saveErr == nil && ctx.Err() == nil {
						saveErr = fmt.Errorf("save result %s/%s/%d: %w", res.CandidateID, res.CaseID, res.Repeat, err)
					}
					mu.Unlock()
					cancel()
					continue
				}
				mu.Lock()
				if cached {
					out.Cached++
				} else {
					out.Called++
				}
				model := j.target.Candidate.Model
				if res.Error != "" {
					out.Errors++
					badCalls[model]++
					if okCalls[model] == 0 && badCalls[model] >= failFast && saveErr == nil {
						saveErr = &ModelFailedError{Model: model, Calls: badCalls[model], Err: res.Error}
						cancel()
					}
				} else {
					okCalls[model]++
				}
				mu.Unlock()
				if r.Progress != nil {
					r.Progress.Done(res)
				}
			}
		}()
	}
feed:
	for _, j := range jobs {
		select {
		case queue <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()

	if saveErr != nil {
		return out, saveErr
	}
	if ctx.Err() != nil {
		out.Canceled = true
		run.Status = lab.RunCanceled
	} else {
		run.Status = lab.RunDone
	}
	run.UpdatedAt = now()
	// The parent context may be canceled; the status must still be saved.
	if err := r.Store.SaveRun(context.WithoutCancel(ctx), run); err != nil {
		return out, fmt.Errorf("save run %s: %w", run.ID, err)
	}
	return out, nil
}

func (r *Runner) now() func() time.Time {
	if r.Now != nil {
		return r.Now
	}
	return time.Now
}

func (r *Runner) failFast() int {
	if r.FailFast > 0 {
		return r.FailFast
	}
	return 3
}

// prepare marks run as running in the store and lists the calls it still
// needs: those without a successful result.
func (r *Runner) prepare(ctx context.Context, run lab.RunInfo, targets []Target, cases []lab.Example, now func() time.Time) (lab.RunInfo, []job, Outcome, error) {
	repeats := max(run.Repeats, 1)
	if prev, err := r.Store.Run(ctx, run.ID); err == nil {
		run.CreatedAt = prev.CreatedAt
	} else if !errors.Is(err, lab.ErrNotFound) {
		return run, nil, Outcome{}, fmt.Errorf("load run %s: %w", run.ID, err)
	}
	if run.CreatedAt.IsZero() {
		run.CreatedAt = now()
	}
	run.Status, run.UpdatedAt = lab.RunRunning, now()
	if err := r.Store.SaveRun(ctx, run); err != nil {
		return run, nil, Outcome{}, fmt.Errorf("save run %s: %w", run.ID, err)
	}

	existing, err := r.Store.Results(ctx, run.ID)
	if err != nil {
		return run, nil, Outcome{}, fmt.Errorf("load results of run %s: %w", run.ID, err)
	}
	done := make(map[lab.CallKey]bool, len(existing))
	for _, res := range existing {
		// Errors are retried on resume: most were transient. So are
		// answers the groundedness judge failed on.
		if res.Error == "" && !judgeFailed(res) {
			done[res.Key()] = true
		}
	}

	var jobs []job
	for i := range targets {
		for _, ex := range cases {
			for rep := 0; rep < repeats; rep++ {
				key := lab.CallKey{Candidate: targets[i].Candidate.ID, Case: ex.ID, Repeat: rep}
				if !done[key] {
					jobs = append(jobs, job{target: &targets[i], ex: ex, repeat: rep})
				}
			}
		}
	}
	out := Outcome{Total: len(targets) * len(cases) * repeats}
	out.Resumed = out.Total - len(jobs)
	return run, jobs, out, nil
}

// call runs one job. ok is false when the context was canceled before an
// answer came back.
func (r *Runner) call(ctx context.Context, run lab.RunInfo, j job, repeats int, now func() time.Time) (res lab.CallResult, cached bool, ok bool) {
	t := j.target
	c := t.Candidate
	res = lab.CallResult{RunID: run.ID, CandidateID: c.ID, CaseID: j.ex.ID, Repeat: j.repeat}
	var hits []retrieval.Hit
	var passages []prompt.Passage
	if t.Retrieve != nil {
		var err error
		if hits, passages, err = retrieve(ctx, t, j.ex); err != nil {
			if ctx.Err() != nil {
				return res, false, false
			}
			res.Error, res.ErrorKind = err.Error(), ErrorKind(err)
			res.CreatedAt = now()
			return res, false, true
		}
		res.Retrieved = make([]string, len(hits))
		for i, h := range hits {
			res.Retrieved[i] = h.Chunk.ID
		}
	}
	msgs, err := t.Builder.MessagesWith(j.ex, passages)
	if err != nil {
		res.Error, res.ErrorKind = err.Error(), ErrorKind(err)
		res.CreatedAt = now()
		return res, false, true
	}
	req, err := buildRequest(c, t.Builder.Variant(), msgs)
	if err != nil {
		res.Error, res.ErrorKind = err.Error(), ErrorKind(err)
		res.CreatedAt = now()
		return res, false, true
	}
	// A repeat is a deliberate second sample: it must reach the model, so
	// its index is part of the cache key when the run repeats.
	sample := -1
	if repeats > 1 {
		sample = j.repeat
	}
	model := c.Model
	if t.ModelVersion != "" {
		model += "@" + t.ModelVersion
	}
	key := CacheKey(model, req, sample)

	resp := r.cacheGet(ctx, key)
	cached = resp != nil
	if resp == nil {
		cctx, cancel := r.callContext(ctx)
		defer cancel()
		cctx, tries := provider.CountAttempts(cctx)
		start := time.Now()
		resp, err = t.Provider.Complete(cctx, req)
		res.Attempts = max(tries.N(), 1)
		if err != nil {
			if ctx.Err() != nil {
				return res, false, false
			}
			res.Error, res.ErrorKind = err.Error(), ErrorKind(err)
			res.LatencyMS = ms(time.Since(start))
			res.CreatedAt = now()
			return res, false, true
		}
		if resp.Latency == 0 {
			resp.Latency = time.Since(start)
		}
		if t.CountTokens != nil {
			if resp.Usage.InputTokens == 0 {
				resp.Usage.InputTokens = countMessages(t.CountTokens, msgs)
			}
			if resp.Usage.OutputTokens == 0 && resp.Text != "" {
				resp.Usage.OutputTokens = t.CountTokens(resp.Text)
			}
		}
		if !r.NoCache {
			if err := r.Store.CachePut(ctx, key, resp); err != nil && ctx.Err() == nil {
				res.Error, res.ErrorKind = fmt.Sprintf("cache write: %v", err), ErrOther
			}
		}
	}

	res.Output = resp.Text
	res.Answer = t.Builder.Extract(resp.Text)
	res.LatencyMS = ms(resp.Latency)
	res.TokensIn, res.TokensOut = resp.Usage.InputTokens, resp.Usage.OutputTokens
	res.Cached = cached
	if t.Price != nil {
		res.Cost = t.Price(res.TokensIn, res.TokensOut, resp.Latency)
	}
	res.Scores = make(map[string]lab.Score, len(r.Scorers))
	for _, s := range r.Scorers {
		sc, err := s.Score(ctx, j.ex, res.Answer)
		if err != nil {
			if ctx.Err() != nil {
				return res, false, false
			}
			sc = lab.Score{Reason: "scorer error: " + err.Error()}
		}
		res.Scores[s.Name()] = sc
		if s.Name() == r.Primary {
			res.Pass = sc.Pass
		}
	}
	if t.Retrieve != nil {
		retrievalScores(hits, j.ex, res.Answer, res.Scores)
		if t.Judge != nil && !r.judgeGrounding(ctx, t.Judge, j.ex, res.Answer, hits, res.Scores) {
			return res, false, false
		}
	}
	res.CreatedAt = now()
	return res, cached, true
}

func buildRequest(c lab.Candidate, v lab.Variant, msgs []provider.Message) (provider.Request, error) {
	ref, err := provider.ParseRef(c.Model)
	if err != nil {
		return provider.Request{}, err
	}
	req := provider.Request{
		Model:       ref.Model,
		Messages:    msgs,
		MaxTokens:   c.Params.MaxTokens,
		Temperature: c.Params.Temperature,
		Seed:        c.Params.Seed,
	}
	if len(v.JSONSchema) > 0 {
		req.JSONSchema = v.JSONSchema
		req.SchemaName = "answer"
	}
	return req, nil
}

// CacheKey identifies a request to a model: the same key means the same
// question to the same model with the same settings. sample < 0 means the
// call is not a deliberate resample.
func CacheKey(model string, req provider.Request, sample int) string {
	b, _ := json.Marshal(struct {
		Model  string           `json:"m"`
		Req    provider.Request `json:"r"`
		Sample int              `json:"s"`
	}{model, req, sample}) // plain data always marshals
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func countMessages(count func(string) int, msgs []provider.Message) int {
	n := 0
	for _, m := range msgs {
		// Chat formats add a few tokens of framing per message.
		n += count(m.Content) + 4
	}
	return n
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cacheGet returns the cached response for key, nil when there is none or
// caching is off. A cache that cannot be read is treated as a miss: the
// call is made again, which is correct, only slower.
func (r *Runner) cacheGet(ctx context.Context, key string) *provider.Response {
	if r.NoCache {
		return nil
	}
	if hit, found, err := r.Store.CacheGet(ctx, key); err == nil && found {
		return hit
	}
	return nil
}

// callContext bounds one model call by the runner's timeout, if any.
func (r *Runner) callContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if r.Timeout > 0 {
		return context.WithTimeout(ctx, r.Timeout)
	}
	return ctx, func() {}
}
