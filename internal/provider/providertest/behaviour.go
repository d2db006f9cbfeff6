package providertest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/provider"
)

// Behave runs the part of the contract that every Provider must keep
// whatever stands behind it, remote API or in-process engine: answers with
// usage and latency, reproducible greedy output, streams that assemble to
// the same text, prompt cancellation, concurrent calls, and embeddings of
// the right shape. Run checks the wire format of the remote APIs on top.
func Behave(t *testing.T, p provider.Provider, model string) {
	zero := 0.0
	req := func(text string) provider.Request {
		return provider.Request{Model: model, MaxTokens: 8, Temperature: &zero, Messages: []provider.Message{
			{Role: "system", Content: "Answer briefly."},
			{Role: "user", Content: text},
		}}
	}
	ctx := context.Background()

	t.Run("answer with usage and latency", func(t *testing.T) {
		resp, err := p.Complete(ctx, req("the cat sat on the mat"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Usage.InputTokens <= 0 || resp.Usage.OutputTokens < 0 || resp.Usage.OutputTokens > 8 {
			t.Errorf("usage %+v, want input > 0 and output within max_tokens 8", resp.Usage)
		}
		if resp.Latency <= 0 {
			t.Errorf("latency %v, want > 0", resp.Latency)
		}
		if resp.FinishReason != "stop" && resp.FinishReason != "length" {
			t.Errorf("finish reason %q, want stop or length", resp.FinishReason)
		}
	})

	t.Run("greedy output is reproducible", func(t *testing.T) {
		a, err := p.Complete(ctx, req("reproducible please"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := p.Complete(ctx, req("reproducible please"))
		if err != nil {
			t.Fatal(err)
		}
		if a.Text != b.Text {
			t.Errorf("two greedy calls differ: %q vs %q", a.Text, b.Text)
		}
	})

	if sp, ok := p.(provider.StreamProvider); ok {
		t.Run("stream assembles to the answer", func(t *testing.T) {
			var got strings.Builder
			resp, err := sp.Stream(ctx, req("stream this"), func(d string) { got.WriteString(d) })
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != resp.Text {
				t.Errorf("deltas %q, response %q", got.String(), resp.Text)
			}
			plain, err := p.Complete(ctx, req("stream this"))
			if err != nil {
				t.Fatal(err)
			}
			if plain.Text != resp.Text {
				t.Errorf("streamed %q, completed %q", resp.Text, plain.Text)
			}
		})
	}

	t.Run("canceled call returns promptly", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		start := time.Now()
		_, err := p.Complete(cctx, req("never answered"))
		if err == nil {
			t.Fatal("a canceled call succeeded")
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want it to wrap context.Canceled", err)
		}
		if provider.IsRetryable(err) {
			t.Error("a canceled call must not be retryable")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v to notice the cancel", d)
		}
	})

	t.Run("concurrent calls", func(t *testing.T) {
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := p.Complete(ctx, req("many at once")); err != nil {
					errs <- err
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
	})

	if e, ok := p.(provider.Embedder); ok {
		t.Run("embeddings", func(t *testing.T) {
			inputs := []string{"refund my order", "where is my parcel", "refund my order"}
			vecs, _, err := e.Embed(ctx, model, inputs)
			if err != nil {
				t.Fatal(err)
			}
			if len(vecs) != len(inputs) || len(vecs[0]) == 0 {
				t.Fatalf("%d vectors for %d inputs", len(vecs), len(inputs))
			}
			for i := range vecs[0] {
				if vecs[0][i] != vecs[2][i] {
					t.Fatal("equal inputs got different vectors")
				}
			}
		})
	}
}
