package provider

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
)

// RetryPolicy says how WithRetry retries. The zero value is usable: every
// zero field takes the default named beside it.
type RetryPolicy struct {
	// MaxAttempts counts every try, the first included (default 5).
	MaxAttempts int
	// BaseDelay is the wait before the second try; each later wait doubles
	// it (default 1s).
	BaseDelay time.Duration
	// MaxDelay caps the doubling (default 30s).
	MaxDelay time.Duration
	// MaxRetryAfter is the longest server-requested wait that is honoured
	// (default 2m). A server asking for more than that is out of quota for
	// longer than a run should sit still, so the error is returned instead.
	MaxRetryAfter time.Duration
	// OnRetry, when set, hears about each retry before its wait, so the
	// caller can show that a call is being retried and why.
	OnRetry func(attempt int, wait time.Duration, err error)
	// Sleep waits for d or until ctx is done; nil uses a timer. Tests
	// replace it so that backoff costs no wall time.
	Sleep func(ctx context.Context, d time.Duration) error

	// jitter returns a number in [0, 1); nil uses math/rand. In-package
	// tests fix it to make waits exact.
	jitter func() float64
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 5
	}
	if p.BaseDelay <= 0 {
		p.BaseDelay = time.Second
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 30 * time.Second
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = 2 * time.Minute
	}
	if p.Sleep == nil {
		p.Sleep = sleepCtx
	}
	if p.jitter == nil {
		p.jitter = rand.Float64
	}
	return p
}

// backoff is the wait before try number attempt+1. It uses "equal jitter"
// (half fixed, half random) so that waits still grow reliably while
// concurrent callers that failed together do not retry in lockstep.
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.BaseDelay
	for i := 1; i < attempt && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	half := d / 2
	return half + time.Duration(p.jitter()*float64(d-half))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Attempts counts the tries made for one logical call; see CountAttempts.
type Attempts struct{ n atomic.Int64 }

// N is the number of tries made so far. It stays 0 when no WithRetry layer
// handled the call.
func (a *Attempts) N() int {
	if a == nil {
		return 0
	}
	return int(a.n.Load())
}

type attemptsKey struct{}

// CountAttempts returns a context under which every try WithRetry makes is
// counted in the returned Attempts. The runner calls it once per call and
// records N() next to the result:
//
//	ctx, tries := provider.CountAttempts(ctx)
//	resp, err := p.Complete(ctx, req)
//	record(resp, err, tries.N())
func CountAttempts(ctx context.Context) (context.Context, *Attempts) {
	a := &Attempts{}
	return context.WithValue(ctx, attemptsKey{}, a), a
}

func countAttempt(ctx context.Context) {
	if a, ok := ctx.Value(attemptsKey{}).(*Attempts); ok {
		a.n.Add(1)
	}
}

// WithRetry returns p with retries: errors that IsRetryable reports as
// worth another try are retried with exponential backoff, or after the
// server's RetryAfter when it sent one, until MaxAttempts is reached or ctx
// is done. The result keeps p's StreamProvider and Embedder capabilities.
//
// A stream is retried only while nothing has reached onDelta: after that a
// retry would hand the caller the same text twice.
func WithRetry(p Provider, policy RetryPolicy) Provider {
	r := &retrier{inner: p, policy: policy.withDefaults()}
	l := &layer{inner: p, complete: r.complete}
	if sp, ok := p.(StreamProvider); ok {
		l.stream = func(ctx context.Context, req Request, onDelta func(string)) (*Response, error) {
			return r.streamWith(ctx, sp, req, onDelta)
		}
	}
	if e, ok := p.(Embedder); ok {
		l.embed = func(ctx context.Context, model string, inputs []string) ([][]float32, Usage, error) {
			return r.embedWith(ctx, e, model, inputs)
		}
	}
	return l.build()
}

type retrier struct {
	inner  Provider
	policy RetryPolicy
}

// do runs try until it succeeds, fails for good, or runs out of attempts.
// retryable lets a caller veto a retry (streams that already spoke).
func (r *retrier) do(ctx context.Context, try func() error, retryable func() bool) error {
	pol := r.policy
	for attempt := 1; ; attempt++ {
		countAttempt(ctx)
		err := try()
		if err == nil {
			return nil
		}
		if !IsRetryable(err) || !retryable() || ctx.Err() != nil {
			return err
		}
		if attempt >= pol.MaxAttempts {
			return fmt.Errorf("%s: gave up after %d attempts: %w", r.inner.Name(), attempt, err)
		}
		wait := pol.backoff(attempt)
		if ra := RetryAfter(err); ra > 0 {
			if ra > pol.MaxRetryAfter {
				return fmt.Errorf("%s: the server asked to wait %s before retrying, longer than the %s allowed: %w", r.inner.Name(), ra, pol.MaxRetryAfter, err)
			}
			wait = ra
		}
		if pol.OnRetry != nil {
			pol.OnRetry(attempt, wait, err)
		}
		if serr := pol.Sleep(ctx, wait); serr != nil {
			return fmt.Errorf("%s: stopped waiting to retry after %d attempts (last error: %v): %w", r.inner.Name(), attempt, err, serr)
		}
	}
}

func always() bool { return true }

func (r *retrier) complete(ctx context.Context, req Request) (*Response, error) {
	var resp *Response
	err := r.do(ctx, func() error {
		var err error
		resp, err = r.inner.Complete(ctx, req)
		return err
	}, always)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (r *retrier) streamWith(ctx context.Context, sp StreamProvider, req Request, onDelta func(string)) (*Response, error) {
	var resp *Response
	spoke := false
	relay := func(s string) {
		spoke = true
		onDelta(s)
	}
	err := r.do(ctx, func() error {
		var err error
		resp, err = sp.Stream(ctx, req, relay)
		return err
	}, func() bool { return !spoke })
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (r *retrier) embedWith(ctx context.Context, e Embedder, model string, inputs []string) ([][]float32, Usage, error) {
	var vecs [][]float32
	var usage Usage
	err := r.do(ctx, func() error {
		var err error
		vecs, usage, err = e.Embed(ctx, model, inputs)
		return err
	}, always)
	if err != nil {
		return nil, Usage{}, err
	}
	return vecs, usage, nil
}

// layer is one middleware's version of each capability of the provider it
// wraps; a nil func means the wrapped provider lacks that capability. build
// picks the concrete type whose method set matches, so that type assertions
// on the result (p.(StreamProvider), p.(Embedder)) answer as they would on
// the wrapped provider.
type layer struct {
	inner    Provider
	complete func(context.Context, Request) (*Response, error)
	stream   func(context.Context, Request, func(string)) (*Response, error)
	embed    func(context.Context, string, []string) ([][]float32, Usage, error)
}

func (l *layer) Name() string { return l.inner.Name() }

func (l *layer) Complete(ctx context.Context, req Request) (*Response, error) {
	return l.complete(ctx, req)
}

// Unwrap returns the provider this layer wraps, for callers looking for a
// capability the middleware does not forward.
func (l *layer) Unwrap() Provider { return l.inner }

type plainLayer struct{ *layer }

type streamLayer struct{ *layer }

func (s streamLayer) Stream(ctx context.Context, req Request, onDelta func(string)) (*Response, error) {
	return s.stream(ctx, req, onDelta)
}

type embedLayer struct{ *layer }

func (e embedLayer) Embed(ctx context.Context, model string, inputs []string) ([][]float32, Usage, error) {
	return e.embed(ctx, model, inputs)
}

type streamEmbedLayer struct{ *layer }

func (s streamEmbedLayer) Stream(ctx context.Context, req Request, onDelta func(string)) (*Response, error) {
	return s.stream(ctx, req, onDelta)
}

func (s streamEmbedLayer) Embed(ctx context.Context, model string, inputs []string) ([][]float32, Usage, error) {
	return s.embed(ctx, model, inputs)
}

func (l *layer) build() Provider {
	switch {
	case l.stream != nil && l.embed != nil:
		return streamEmbedLayer{l}
	case l.stream != nil:
		return streamLayer{l}
	case l.embed != nil:
		return embedLayer{l}
	default:
		return plainLayer{l}
	}
}

// The helpers below turn what an SDK returned into an *Error, so that every
// backend answers the retry question the same way.

// ParseRetryAfter reads how long a server asked the client to wait:
// retry-after-ms (milliseconds; OpenAI and Anthropic send it) first, then
// Retry-After as whole seconds or as an HTTP date. It returns 0 when the
// headers say nothing usable.
func ParseRetryAfter(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if v := strings.TrimSpace(h.Get("retry-after-ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 && ms < 1e9 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 && s < 1e6 {
			return time.Duration(s * float64(time.Second))
		}
		return 0
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// HTTPFailure builds the Error for an HTTP error answer: the status decides
// Retryable (ClassifyStatus), the headers give RetryAfter, and the message
// is the API's own, read from the error body shapes in use (OpenAI, Anthropic
// and Google put it at error.message; Ollama sends error as a string;
// FastAPI-based servers use detail), or the start of a non-JSON body.
func HTTPFailure(name string, status int, h http.Header, body []byte) *Error {
	msg := bodyMessage(body)
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &Error{
		Provider:   name,
		StatusCode: status,
		Retryable:  ClassifyStatus(status),
		RetryAfter: ParseRetryAfter(h, time.Now()),
		Message:    msg,
	}
}

const maxMessage = 500

func bodyMessage(body []byte) string {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return ""
	}
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &v) == nil {
		var inner struct {
			Message string `json:"message"`
		}
		var s string
		switch {
		case json.Unmarshal(v.Error, &inner) == nil && inner.Message != "":
			return clip(inner.Message)
		case json.Unmarshal(v.Error, &s) == nil && s != "":
			return clip(s)
		case v.Message != "":
			return clip(v.Message)
		case json.Unmarshal(v.Detail, &s) == nil && s != "":
			return clip(s)
		case len(v.Detail) > 0 && string(v.Detail) != "null":
			return clip(string(v.Detail))
		}
	}
	return clip(string(body))
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// CallFailure classifies an error from a call that got no HTTP error
// answer. caller is the context the caller passed in, before any per-call
// timeout was added: when it is done, the caller gave up and the error
// says so without inviting a retry; when only the per-call timeout fired,
// or the connection failed or dropped, another try may well succeed. Any
// other error (an answer that could not be decoded, a request the SDK
// refused to send) is not retryable.
func CallFailure(name string, caller context.Context, err error) *Error {
	if cerr := caller.Err(); cerr != nil {
		return &Error{Provider: name, Message: "call abandoned: " + cerr.Error(), Err: cerr}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Provider: name, Retryable: true, Message: "no answer within the call's timeout", Err: err}
	}
	var ne net.Error
	retry := errors.As(err, &ne) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE)
	return &Error{Provider: name, Retryable: retry, Message: clip(err.Error()), Err: err}
}

// Redact returns err with every occurrence of each secret replaced, in its
// own text and in the text of the error it wraps. Backends pass their API
// key through it before returning, so that no server echo or SDK message
// can carry the key into a log. errors.Is still sees what err wrapped.
// Secrets shorter than 4 bytes are ignored: they are placeholders, and
// replacing them would mangle ordinary words.
func Redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var keep []string
	for _, s := range secrets {
		if len(s) >= 4 {
			keep = append(keep, s)
		}
	}
	if len(keep) == 0 {
		return err
	}
	scrub := func(s string) string {
		for _, k := range keep {
			s = strings.ReplaceAll(s, k, "[redacted]")
		}
		return s
	}
	var pe *Error
	if errors.As(err, &pe) && pe == err {
		out := *pe
		out.Message = scrub(out.Message)
		if out.Err != nil {
			if text := out.Err.Error(); scrub(text) != text {
				out.Err = &redacted{text: scrub(text), cause: out.Err}
			}
		}
		return &out
	}
	if text := err.Error(); scrub(text) != text {
		return &redacted{text: scrub(text), cause: err}
	}
	return err
}

// redacted stands in for an error whose text held a secret. It does not
// unwrap, so the original text cannot be reached by walking the chain, but
// it answers errors.Is for what the original wrapped (context.Canceled...).
type redacted struct {
	text  string
	cause error
}

func (r *redacted) Error() string { return r.text }

func (r *redacted) Is(target error) bool { return errors.Is(r.cause, target) }
