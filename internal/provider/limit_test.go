package provider

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fakeClock is time that moves only when someone sleeps on it.
type fakeClock struct {
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time { return c.now }

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return nil
}

// usageProvider reports fixed usage for every call.
type usageProvider struct {
	usage Usage
	calls int
}

func (u *usageProvider) Name() string { return "usage" }

func (u *usageProvider) Complete(ctx context.Context, req Request) (*Response, error) {
	u.calls++
	return &Response{Text: "x", Usage: u.usage}, nil
}

func (u *usageProvider) Embed(ctx context.Context, model string, inputs []string) ([][]float32, Usage, error) {
	u.calls++
	return make([][]float32, len(inputs)), Usage{InputTokens: u.usage.InputTokens}, nil
}

func msg(chars int) Request {
	return Request{Messages: []Message{{Role: "user", Content: strings.Repeat("a", chars)}}}
}

func TestWithLimits(t *testing.T) {
	cases := []struct {
		name      string
		limits    Limits
		usage     Usage
		reqs      []Request
		wantSleep []time.Duration
	}{
		{
			name:   "no limits never waits",
			reqs:   []Request{msg(10), msg(10), msg(10)},
			limits: Limits{},
		},
		{
			name:      "rpm 60 spaces calls one second apart",
			limits:    Limits{RPM: 60},
			reqs:      []Request{msg(1), msg(1), msg(1)},
			wantSleep: []time.Duration{time.Second, time.Second},
		},
		{
			name:      "rpm 120 allows a burst of two",
			limits:    Limits{RPM: 120},
			reqs:      []Request{msg(1), msg(1), msg(1)},
			wantSleep: []time.Duration{500 * time.Millisecond},
		},
		{
			// TPM 600 refills 10 tokens a second from a full bucket of 600.
			// Call 1 takes its estimate (400 chars = 100 tokens), then usage
			// of 500 settles 400 more: 100 left. Call 2 takes the last 100
			// and settles 400 more: 400 in debt. Call 3 waits for the debt
			// and its own 100 tokens: 500 tokens, 50s.
			name:      "tpm corrects estimates with reported usage",
			limits:    Limits{TPM: 600},
			usage:     Usage{InputTokens: 100, OutputTokens: 400},
			reqs:      []Request{msg(400), msg(400), msg(400)},
			wantSleep: []time.Duration{50 * time.Second},
		},
		{
			name:   "usage below estimate keeps the estimate",
			limits: Limits{TPM: 600},
			usage:  Usage{InputTokens: 1},
			// 3 x 200 tokens estimated = 600, the whole bucket; the fourth waits 20s.
			reqs:      []Request{msg(800), msg(800), msg(800), msg(800)},
			wantSleep: []time.Duration{20 * time.Second},
		},
		{
			name:   "request larger than the bucket is clamped, not refused",
			limits: Limits{TPM: 60},
			usage:  Usage{InputTokens: 60},
			reqs:   []Request{msg(4000), msg(4)},
			// call 1: takes all 60; call 2 needs 1 token: 1s.
			wantSleep: []time.Duration{time.Second},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			clk := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
			inner := &usageProvider{usage: tc.usage}
			p := newLimited(inner, tc.limits, clk)
			for i, r := range tc.reqs {
				if _, err := p.Complete(context.Background(), r); err != nil {
					t.Fatalf("call %d: %v", i, err)
				}
			}
			if inner.calls != len(tc.reqs) {
				t.Errorf("calls %d, want %d", inner.calls, len(tc.reqs))
			}
			if !reflect.DeepEqual(clk.sleeps, tc.wantSleep) {
				t.Errorf("sleeps %v, want %v", clk.sleeps, tc.wantSleep)
			}
		})
	}
}

func TestWithLimitsEmbed(t *testing.T) {
	clk := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	inner := &usageProvider{usage: Usage{InputTokens: 60}}
	p := newLimited(inner, Limits{TPM: 60}, clk).(Embedder)
	for range 2 {
		if _, _, err := p.Embed(context.Background(), "m", []string{"abcd"}); err != nil {
			t.Fatal(err)
		}
	}
	// first call: estimate 1, usage 60 settles 59 more: bucket empty.
	// second call needs 1 token at 1 token/s.
	if want := []time.Duration{time.Second}; !reflect.DeepEqual(clk.sleeps, want) {
		t.Errorf("sleeps %v, want %v", clk.sleeps, want)
	}
}

func TestWithLimitsCancelledWait(t *testing.T) {
	clk := &fakeClock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	inner := &usageProvider{}
	p := newLimited(inner, Limits{RPM: 1}, clk)
	if _, err := p.Complete(context.Background(), msg(1)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Complete(ctx, msg(1))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if inner.calls != 1 {
		t.Errorf("the cancelled call reached the provider")
	}
}

func TestEstimateTokens(t *testing.T) {
	cases := []struct {
		name  string
		texts []string
		want  int
	}{
		{"empty", nil, 0},
		{"rounds up", []string{"abcde"}, 2},
		{"sums texts", []string{"abcd", "abcd"}, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := estimateTokens(tc.texts...); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}
