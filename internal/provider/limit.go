package provider

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/time/rate"
)

// Limits are the request and token rates a provider account allows. Zero
// means no limit of that kind.
type Limits struct {
	RPM int // requests per minute
	TPM int // tokens (input and output) per minute
}

// WithLimits returns p slowed down to stay within l, so that a run spends
// its time waiting on its own side rather than collecting 429s. One wrapped
// provider holds one budget: wrap once per account and model, and share the
// result across goroutines. The result keeps p's StreamProvider and Embedder
// capabilities.
//
// Token use cannot be known before the call, so each call first takes an
// estimate of its input (see estimateTokens) and, once the answer reports
// real usage, takes the rest. A call that used fewer tokens than estimated
// does not give the difference back (the rate package cannot return part of
// a reservation); estimates run close to real input counts, so this costs
// little.
func WithLimits(p Provider, l Limits) Provider {
	return newLimited(p, l, realClock{})
}

// clock lets tests run limits on fake time.
type clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error { return sleepCtx(ctx, d) }

type limited struct {
	inner  Provider
	clock  clock
	reqs   *rate.Limiter // nil when RPM is 0
	tokens *rate.Limiter // nil when TPM is 0
}

func newLimited(p Provider, l Limits, c clock) Provider {
	lim := &limited{inner: p, clock: c}
	if l.RPM > 0 {
		// A burst of one second's share (at least one request): providers
		// enforce per-minute limits over shorter windows too, so letting a
		// whole minute's requests out at once would still draw 429s.
		lim.reqs = rate.NewLimiter(rate.Limit(float64(l.RPM)/60), max(1, l.RPM/60))
	}
	if l.TPM > 0 {
		// The burst is a whole minute's tokens: a single large prompt must
		// fit in one reservation, and a burst smaller than one call's tokens
		// could never be granted.
		lim.tokens = rate.NewLimiter(rate.Limit(float64(l.TPM)/60), l.TPM)
	}
	ly := &layer{inner: p, complete: lim.complete}
	if sp, ok := p.(StreamProvider); ok {
		ly.stream = func(ctx context.Context, req Request, onDelta func(string)) (*Response, error) {
			return lim.call(ctx, req, func() (*Response, error) { return sp.Stream(ctx, req, onDelta) })
		}
	}
	if e, ok := p.(Embedder); ok {
		ly.embed = func(ctx context.Context, model string, inputs []string) ([][]float32, Usage, error) {
			return lim.embedWith(ctx, e, model, inputs)
		}
	}
	return ly.build()
}

// estimateTokens guesses a request's input tokens before the call, as one
// token per four bytes of text. That is the usual rule of thumb for English
// with BPE tokenizers; it needs no tokenizer for the model at hand (tunelab
// talks to many), and the estimate is corrected from the reported usage
// after every call, so its error does not accumulate.
func estimateTokens(texts ...string) int {
	n := 0
	for _, t := range texts {
		n += len(t)
	}
	return (n + 3) / 4
}

func requestTokens(req Request) int {
	texts := make([]string, 0, len(req.Messages)+1)
	for _, m := range req.Messages {
		texts = append(texts, m.Content)
	}
	texts = append(texts, string(req.JSONSchema))
	return estimateTokens(texts...)
}

func (l *limited) complete(ctx context.Context, req Request) (*Response, error) {
	return l.call(ctx, req, func() (*Response, error) { return l.inner.Complete(ctx, req) })
}

func (l *limited) call(ctx context.Context, req Request, do func() (*Response, error)) (*Response, error) {
	est := requestTokens(req)
	if err := l.admit(ctx, est); err != nil {
		return nil, err
	}
	resp, err := do()
	if resp != nil {
		l.settle(est, resp.Usage.InputTokens+resp.Usage.OutputTokens)
	}
	return resp, err
}

func (l *limited) embedWith(ctx context.Context, e Embedder, model string, inputs []string) ([][]float32, Usage, error) {
	est := estimateTokens(inputs...)
	if err := l.admit(ctx, est); err != nil {
		return nil, Usage{}, err
	}
	vecs, usage, err := e.Embed(ctx, model, inputs)
	if err == nil {
		l.settle(est, usage.InputTokens+usage.OutputTokens)
	}
	return vecs, usage, err
}

// admit waits until one request and est tokens may go out.
func (l *limited) admit(ctx context.Context, est int) error {
	if err := l.wait(ctx, l.reqs, 1); err != nil {
		return err
	}
	return l.wait(ctx, l.tokens, est)
}

func (l *limited) wait(ctx context.Context, lim *rate.Limiter, n int) error {
	if lim == nil || n <= 0 {
		return nil
	}
	n = min(n, lim.Burst())
	now := l.clock.Now()
	r := lim.ReserveN(now, n)
	if !r.OK() {
		return fmt.Errorf("%s: rate limit cannot grant %d", l.inner.Name(), n)
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return nil
	}
	if err := l.clock.Sleep(ctx, d); err != nil {
		r.CancelAt(l.clock.Now())
		return fmt.Errorf("%s: stopped waiting for the rate limit: %w", l.inner.Name(), err)
	}
	return nil
}

// settle takes the tokens a call used beyond its estimate. It does not wait:
// the debt delays the calls that come after, which is what a provider's
// token window does too.
func (l *limited) settle(est, used int) {
	if l.tokens == nil {
		return
	}
	extra := used - est
	now := l.clock.Now()
	for extra > 0 {
		n := min(extra, l.tokens.Burst())
		l.tokens.ReserveN(now, n)
		extra -= n
	}
}
