package providertest

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/provider"
)

// The contract's streaming and embeddings cases.

func streamer(t *testing.T, p provider.Provider) provider.StreamProvider {
	t.Helper()
	sp, ok := p.(provider.StreamProvider)
	if !ok {
		t.Fatalf("%T does not implement provider.StreamProvider", p)
	}
	return sp
}

func testStream(t *testing.T, b Backend) {
	parts := []string{"Hel", "lo, ", "wor", "ld", "!"}
	srv, p := setup(t, b, func(ChatRequest) (Reply, *HTTPError) {
		return Reply{Chunks: parts, InputTokens: 9, OutputTokens: 4, Model: "served-model-1"}, nil
	})
	var got []string
	resp, err := streamer(t, p).Stream(context.Background(),
		provider.Request{Model: "m", Messages: []provider.Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "Say hello"}}},
		func(d string) { got = append(got, d) })
	if err != nil {
		t.Fatalf("Stream: %v", err)
	}
	if !reflect.DeepEqual(got, parts) {
		t.Errorf("deltas %q, want %q in order", got, parts)
	}
	want := provider.Usage{InputTokens: 9, OutputTokens: 4}
	if resp.Text != "Hello, world!" || resp.Usage != want || resp.FinishReason != "stop" || resp.Model != "served-model-1" {
		t.Errorf("got %+v, want text %q usage %+v finish stop", resp, "Hello, world!", want)
	}
	req := srv.Last(t)
	if !req.Stream || req.System != "Be brief." || req.APIKey != FakeKey {
		t.Errorf("server saw stream %v system %q", req.Stream, req.System)
	}
}

func testStreamError(t *testing.T, b Backend) {
	_, p := setup(t, b, func(ChatRequest) (Reply, *HTTPError) {
		return Reply{}, &HTTPError{Status: 429, Message: "slow down", RetryAfter: 2 * time.Second}
	})
	called := false
	_, err := streamer(t, p).Stream(context.Background(), provider.Request{Model: "m", Messages: userTurn("hi")}, func(string) { called = true })
	pe := providerError(t, b, err)
	if !pe.Retryable || pe.StatusCode != 429 || pe.RetryAfter != 2*time.Second || !strings.Contains(pe.Message, "slow down") {
		t.Errorf("got %+v", pe)
	}
	if called {
		t.Error("onDelta called for a failed stream")
	}
}

func testStreamMidway(t *testing.T, b Backend) {
	_, p := setup(t, b, func(ChatRequest) (Reply, *HTTPError) {
		return Reply{Chunks: []string{"Once ", "upon"}, StreamError: &HTTPError{Status: 503, Message: "Overloaded"}}, nil
	})
	var got []string
	resp, err := streamer(t, p).Stream(context.Background(), provider.Request{Model: "m", Messages: userTurn("hi")}, func(d string) { got = append(got, d) })
	if err == nil {
		t.Fatalf("a stream that ended in an error succeeded: %+v", resp)
	}
	pe := providerError(t, b, err)
	if !pe.Retryable || !strings.Contains(pe.Message, "Overloaded") {
		t.Errorf("got %+v, want a retryable error with the server's message", pe)
	}
	if !reflect.DeepEqual(got, []string{"Once ", "upon"}) {
		t.Errorf("deltas before the failure %q", got)
	}
}

func testEmbed(t *testing.T, b Backend) {
	inputs := []string{"the cat sat", "a dog ran", "the cat sat"}
	srv, p := setup(t, b, nil)
	e, ok := p.(provider.Embedder)
	if !ok {
		t.Fatalf("%T does not implement provider.Embedder", p)
	}
	vecs, _, err := e.Embed(context.Background(), b.EmbedModel, inputs)
	if err != nil {
		t.Fatalf("Embed: %v", err)
	}
	want, _ := HashEmbed(EmbedRequest{Inputs: inputs})
	if !reflect.DeepEqual(vecs, want) {
		t.Errorf("vectors %v, want %v", vecs, want)
	}
	reqs := srv.EmbedRequests()
	if len(reqs) != 1 || reqs[0].Model != b.EmbedModel || !reflect.DeepEqual(reqs[0].Inputs, inputs) || reqs[0].APIKey != FakeKey {
		t.Errorf("server saw %+v", reqs)
	}

	t.Run("error", func(t *testing.T) {
		_, p := setup(t, b, nil, WithEmbedder(func(EmbedRequest) ([][]float32, *HTTPError) {
			return nil, &HTTPError{Status: 429, Message: "quota", RetryAfter: time.Second}
		}))
		_, _, err := p.(provider.Embedder).Embed(context.Background(), b.EmbedModel, inputs)
		pe := providerError(t, b, err)
		if !pe.Retryable || pe.RetryAfter != time.Second {
			t.Errorf("got %+v", pe)
		}
	})
}
