package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fakeProvider answers from a script: the i-th call returns errs[i] when
// that is non-nil, else a response. It is an in-memory stand-in for the
// Provider interface; the middleware under test never sees HTTP.
type fakeProvider struct {
	errs   []error
	calls  int
	deltas []string // what Stream sends before failing or answering
}

func (f *fakeProvider) Name() string { return "fake" }

func (f *fakeProvider) next() error {
	i := f.calls
	f.calls++
	if i < len(f.errs) {
		return f.errs[i]
	}
	return nil
}

func (f *fakeProvider) Complete(ctx context.Context, req Request) (*Response, error) {
	if err := f.next(); err != nil {
		return nil, err
	}
	return &Response{Text: "ok", Usage: Usage{InputTokens: 10, OutputTokens: 2}}, nil
}

type fakeStreamer struct{ fakeProvider }

func (f *fakeStreamer) Stream(ctx context.Context, req Request, onDelta func(string)) (*Response, error) {
	for _, d := range f.deltas {
		onDelta(d)
	}
	if err := f.next(); err != nil {
		return nil, err
	}
	return &Response{Text: strings.Join(f.deltas, "")}, nil
}

type fakeEmbedder struct{ fakeProvider }

func (f *fakeEmbedder) Embed(ctx context.Context, model string, inputs []string) ([][]float32, Usage, error) {
	if err := f.next(); err != nil {
		return nil, Usage{}, err
	}
	out := make([][]float32, len(inputs))
	for i := range inputs {
		out[i] = []float32{float32(i)}
	}
	return out, Usage{InputTokens: len(inputs)}, nil
}

type fakeBoth struct{ fakeStreamer }

func (f *fakeBoth) Embed(ctx context.Context, model string, inputs []string) ([][]float32, Usage, error) {
	return nil, Usage{}, f.next()
}

// recordSleep replaces the policy's sleep: it records each wait and returns
// at once, or returns ctx's error when ctx is already done.
type recordSleep struct{ waits []time.Duration }

func (r *recordSleep) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.waits = append(r.waits, d)
	return nil
}

func retryable(msg string) error {
	return &Error{Provider: "fake", StatusCode: 500, Retryable: true, Message: msg}
}

func TestWithRetryComplete(t *testing.T) {
	rateLimited := &Error{Provider: "fake", StatusCode: 429, Retryable: true, RetryAfter: 7 * time.Second, Message: "slow down"}
	badRequest := &Error{Provider: "fake", StatusCode: 400, Message: "bad"}
	cases := []struct {
		name      string
		errs      []error
		policy    RetryPolicy
		wantCalls int
		wantWaits []time.Duration
		wantErr   string // substring; "" means success
	}{
		{name: "first try succeeds", wantCalls: 1},
		{
			name: "two failures then success, backoff doubles",
			errs: []error{retryable("a"), retryable("b")}, wantCalls: 3,
			// jitter fixed at 0.5: wait = d/2 + 0.5*d/2 = 0.75d
			wantWaits: []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond},
		},
		{
			name: "retry-after overrides backoff",
			errs: []error{rateLimited}, wantCalls: 2,
			wantWaits: []time.Duration{7 * time.Second},
		},
		{
			name: "not retryable stops at once",
			errs: []error{badRequest}, wantCalls: 1, wantErr: "HTTP 400: bad",
		},
		{
			name: "gives up after max attempts",
			errs: []error{retryable("1"), retryable("2"), retryable("3")}, policy: RetryPolicy{MaxAttempts: 3},
			wantCalls: 3, wantWaits: []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond},
			wantErr: "gave up after 3 attempts",
		},
		{
			name: "backoff capped at max delay",
			errs: []error{retryable("1"), retryable("2"), retryable("3")}, policy: RetryPolicy{MaxDelay: 1200 * time.Millisecond},
			wantCalls: 4, wantWaits: []time.Duration{750 * time.Millisecond, 900 * time.Millisecond, 900 * time.Millisecond},
		},
		{
			name:      "retry-after beyond the allowed wait is returned",
			errs:      []error{&Error{Provider: "fake", StatusCode: 429, Retryable: true, RetryAfter: time.Hour}},
			wantCalls: 1, wantErr: "asked to wait 1h0m0s",
		},
		{
			name:      "plain errors are not retried",
			errs:      []error{errors.New("boom")},
			wantCalls: 1, wantErr: "boom",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeProvider{errs: tc.errs}
			rec := &recordSleep{}
			pol := tc.policy
			pol.Sleep = rec.sleep
			pol.jitter = func() float64 { return 0.5 }
			var heard []int
			pol.OnRetry = func(attempt int, wait time.Duration, err error) { heard = append(heard, attempt) }
			p := WithRetry(f, pol)

			ctx, tries := CountAttempts(context.Background())
			resp, err := p.Complete(ctx, Request{Model: "m"})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Complete: %v", err)
				}
				if resp.Text != "ok" {
					t.Errorf("text %q, want ok", resp.Text)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
			}
			if f.calls != tc.wantCalls {
				t.Errorf("calls %d, want %d", f.calls, tc.wantCalls)
			}
			if tries.N() != tc.wantCalls {
				t.Errorf("Attempts.N %d, want %d", tries.N(), tc.wantCalls)
			}
			if !reflect.DeepEqual(rec.waits, tc.wantWaits) {
				t.Errorf("waits %v, want %v", rec.waits, tc.wantWaits)
			}
			if len(heard) != len(tc.wantWaits) {
				t.Errorf("OnRetry heard %v, want %d calls", heard, len(tc.wantWaits))
			}
		})
	}
}

func TestWithRetryKeepsErrorType(t *testing.T) {
	f := &fakeProvider{errs: []error{retryable("x"), retryable("y")}}
	p := WithRetry(f, RetryPolicy{MaxAttempts: 2, Sleep: (&recordSleep{}).sleep})
	_, err := p.Complete(context.Background(), Request{})
	var pe *Error
	if !errors.As(err, &pe) || pe.Message != "y" {
		t.Fatalf("error %v does not unwrap to the last *Error", err)
	}
}

func TestWithRetryStopsOnCancel(t *testing.T) {
	f := &fakeProvider{errs: []error{retryable("x"), retryable("y")}}
	ctx, cancel := context.WithCancel(context.Background())
	pol := RetryPolicy{Sleep: func(ctx context.Context, d time.Duration) error {
		cancel() // the caller gives up while we wait
		return ctx.Err()
	}}
	_, err := WithRetry(f, pol).Complete(ctx, Request{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if f.calls != 1 {
		t.Errorf("calls %d, want 1", f.calls)
	}
}

func TestWithRetryStream(t *testing.T) {
	cases := []struct {
		name      string
		deltas    []string
		errs      []error
		wantCalls int
		wantErr   bool
	}{
		{name: "fails before speaking is retried", errs: []error{retryable("x")}, wantCalls: 2},
		{name: "fails after speaking is not retried", deltas: []string{"he", "llo"}, errs: []error{retryable("x")}, wantCalls: 1, wantErr: true},
		{name: "clean stream", deltas: []string{"a", "b"}, wantCalls: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeStreamer{fakeProvider{errs: tc.errs, deltas: tc.deltas}}
			p := WithRetry(f, RetryPolicy{Sleep: (&recordSleep{}).sleep})
			sp, ok := p.(StreamProvider)
			if !ok {
				t.Fatal("WithRetry dropped StreamProvider")
			}
			var got []string
			resp, err := sp.Stream(context.Background(), Request{}, func(s string) { got = append(got, s) })
			if (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			if f.calls != tc.wantCalls {
				t.Errorf("calls %d, want %d", f.calls, tc.wantCalls)
			}
			if err == nil && resp.Text != strings.Join(tc.deltas, "") {
				t.Errorf("text %q", resp.Text)
			}
			if !reflect.DeepEqual(got, tc.deltas) && !(len(got) == 0 && len(tc.deltas) == 0) {
				t.Errorf("deltas %v, want %v (each once)", got, tc.deltas)
			}
		})
	}
}

func TestWithRetryEmbed(t *testing.T) {
	f := &fakeEmbedder{fakeProvider{errs: []error{retryable("x")}}}
	p := WithRetry(f, RetryPolicy{Sleep: (&recordSleep{}).sleep})
	e, ok := p.(Embedder)
	if !ok {
		t.Fatal("WithRetry dropped Embedder")
	}
	ctx, tries := CountAttempts(context.Background())
	vecs, usage, err := e.Embed(ctx, "m", []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != 2 || usage.InputTokens != 2 || tries.N() != 2 {
		t.Errorf("vecs %v usage %+v attempts %d", vecs, usage, tries.N())
	}
}

func TestCapabilitiesPreserved(t *testing.T) {
	cases := []struct {
		name          string
		inner         Provider
		stream, embed bool
	}{
		{"plain", &fakeProvider{}, false, false},
		{"stream", &fakeStreamer{}, true, false},
		{"embed", &fakeEmbedder{}, false, true},
		{"both", &fakeBoth{}, true, true},
	}
	for _, tc := range cases {
		for _, mw := range []struct {
			name string
			wrap func(Provider) Provider
		}{
			{"retry", func(p Provider) Provider { return WithRetry(p, RetryPolicy{}) }},
			{"limits", func(p Provider) Provider { return WithLimits(p, Limits{RPM: 10, TPM: 1000}) }},
			{"both", func(p Provider) Provider { return WithLimits(WithRetry(p, RetryPolicy{}), Limits{RPM: 10}) }},
		} {
			t.Run(tc.name+"/"+mw.name, func(t *testing.T) {
				p := mw.wrap(tc.inner)
				_, s := p.(StreamProvider)
				_, e := p.(Embedder)
				if s != tc.stream || e != tc.embed {
					t.Errorf("stream %v embed %v, want %v %v", s, e, tc.stream, tc.embed)
				}
				if p.Name() != "fake" {
					t.Errorf("name %q", p.Name())
				}
				u, ok := p.(interface{ Unwrap() Provider })
				if !ok || u.Unwrap() == nil {
					t.Error("no Unwrap")
				}
			})
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		h    http.Header
		want time.Duration
	}{
		{"seconds", http.Header{"Retry-After": {"3"}}, 3 * time.Second},
		{"fractional seconds", http.Header{"Retry-After": {"0.5"}}, 500 * time.Millisecond},
		{"milliseconds win", http.Header{"Retry-After": {"3"}, "Retry-After-Ms": {"250"}}, 250 * time.Millisecond},
		{"http date", http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, 90 * time.Second},
		{"date in the past", http.Header{"Retry-After": {now.Add(-time.Minute).Format(http.TimeFormat)}}, 0},
		{"garbage", http.Header{"Retry-After": {"soon"}}, 0},
		{"negative", http.Header{"Retry-After": {"-4"}}, 0},
		{"absent", http.Header{}, 0},
		{"nil", nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ParseRetryAfter(tc.h, now); got != tc.want {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHTTPFailure(t *testing.T) {
	cases := []struct {
		name      string
		status    int
		body      string
		wantMsg   string
		wantRetry bool
	}{
		{"openai shape", 400, `{"error":{"message":"max_tokens is too large","type":"invalid_request_error"}}`, "max_tokens is too large", false},
		{"anthropic shape", 529, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, "Overloaded", true},
		{"google shape", 429, `{"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}}`, "Quota exceeded", true},
		{"ollama shape", 404, `{"error":"model 'x' not found"}`, "model 'x' not found", false},
		{"fastapi shape", 422, `{"detail":"bad field"}`, "bad field", false},
		{"plain text", 502, "Bad Gateway from nginx", "Bad Gateway from nginx", true},
		{"empty body", 401, "", "Unauthorized", false},
		{"long body clipped", 500, strings.Repeat("é", 400), strings.Repeat("é", 250) + "…", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := HTTPFailure("x", tc.status, http.Header{"Retry-After": {"2"}}, []byte(tc.body))
			if e.Message != tc.wantMsg || e.Retryable != tc.wantRetry || e.StatusCode != tc.status || e.RetryAfter != 2*time.Second {
				t.Errorf("got %+v", e)
			}
		})
	}
}

func TestCallFailure(t *testing.T) {
	live := context.Background()
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	cases := []struct {
		name      string
		caller    context.Context
		err       error
		wantRetry bool
		wantIs    error
	}{
		{"caller cancelled", cancelled, fmt.Errorf("do: %w", context.Canceled), false, context.Canceled},
		{"own timeout", live, fmt.Errorf("do: %w", context.DeadlineExceeded), true, context.DeadlineExceeded},
		{"connection dropped", live, fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true, io.ErrUnexpectedEOF},
		{"dial failed", live, &net.OpError{Op: "dial", Err: errors.New("refused")}, true, nil},
		{"decode error", live, errors.New("invalid character 'x'"), false, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := CallFailure("x", tc.caller, tc.err)
			if e.Retryable != tc.wantRetry {
				t.Errorf("retryable %v, want %v", e.Retryable, tc.wantRetry)
			}
			if tc.wantIs != nil && !errors.Is(e, tc.wantIs) {
				t.Errorf("%v is not %v", e, tc.wantIs)
			}
		})
	}
}

func TestRedact(t *testing.T) {
	const key = "sk-secret-KEY-123456"
	inner := fmt.Errorf("Get https://x/?key=%s: %w", key, context.Canceled)
	cases := []struct {
		name string
		err  error
	}{
		{"in message", &Error{Provider: "x", Message: "bad key " + key}},
		{"in wrapped error", &Error{Provider: "x", Err: inner}},
		{"plain error", inner},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Redact(tc.err, key, "no") // "no" is too short to be a secret
			text := got.Error()
			if strings.Contains(text, key) {
				t.Fatalf("key survived: %s", text)
			}
			if !strings.Contains(text, "[redacted]") {
				t.Errorf("no redaction mark in %q", text)
			}
			for e := got; e != nil; e = errors.Unwrap(e) {
				if strings.Contains(e.Error(), key) {
					t.Errorf("key reachable through Unwrap: %s", e.Error())
				}
			}
		})
	}
	if got := Redact(inner, key); !errors.Is(got, context.Canceled) {
		t.Error("redacted error lost errors.Is(context.Canceled)")
	}
	plain := errors.New("nothing secret")
	if Redact(plain, key) != plain {
		t.Error("an error without the key should come back unchanged")
	}
}
