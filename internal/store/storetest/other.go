package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
)

func sampleResponse(text string) *provider.Response {
	return &provider.Response{
		Text:         text,
		Usage:        provider.Usage{InputTokens: 431, OutputTokens: 57},
		Model:        "gpt-4o-mini-2024-07-18",
		FinishReason: "stop",
		Latency:      812*time.Millisecond + 375*time.Microsecond + 1,
	}
}

func checkCache(t *testing.T, s lab.Store, key string, want *provider.Response) {
	t.Helper()
	got, ok, err := s.CacheGet(ctx, key)
	if err != nil {
		t.Fatalf("CacheGet(%q): %v", key, err)
	}
	switch {
	case want == nil && (ok || got != nil):
		t.Fatalf("CacheGet(%q) = %+v, %v; want a miss", key, got, ok)
	case want != nil && (!ok || got == nil):
		t.Fatalf("CacheGet(%q) missed; want %+v", key, want)
	case want != nil && !reflect.DeepEqual(got, want):
		t.Fatalf("CacheGet(%q) = %+v, want %+v", key, got, want)
	}
}

func testCache(t *testing.T, h *harness) {
	s := h.store(t)
	k1 := "sha256:9b1d…" // keys are hashes in practice, but any string works
	k2 := "openai:gpt-4o-mini|{\"messages\":[]}"
	tests := []struct {
		name string
		do   func(t *testing.T)
	}{
		{"miss on empty", func(t *testing.T) { checkCache(t, s, k1, nil) }},
		{"put then get", func(t *testing.T) {
			if err := s.CachePut(ctx, k1, sampleResponse("billing <b>&</b> ünïcode\n")); err != nil {
				t.Fatalf("CachePut: %v", err)
			}
			checkCache(t, s, k1, sampleResponse("billing <b>&</b> ünïcode\n"))
		}},
		{"other key still misses", func(t *testing.T) { checkCache(t, s, k2, nil) }},
		{"put replaces", func(t *testing.T) {
			if err := s.CachePut(ctx, k1, sampleResponse("shipping")); err != nil {
				t.Fatalf("CachePut: %v", err)
			}
			checkCache(t, s, k1, sampleResponse("shipping"))
		}},
		{"empty response", func(t *testing.T) {
			if err := s.CachePut(ctx, k2, &provider.Response{}); err != nil {
				t.Fatalf("CachePut: %v", err)
			}
			checkCache(t, s, k2, &provider.Response{})
		}},
		{"nil response refused", func(t *testing.T) {
			if err := s.CachePut(ctx, "nil", nil); err == nil {
				t.Fatal("CachePut(nil) succeeded; want an error")
			}
			checkCache(t, s, "nil", nil)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.do)
	}
}

func testReopen(t *testing.T, h *harness) {
	s := h.store(t)
	run := sampleRun("r", base)
	mustSaveRun(t, s, run)
	var results []lab.CallResult
	for i := range 5 {
		r := sampleResult("r", "c", "x", i)
		results = append(results, r)
		mustSaveResult(t, s, r)
	}
	if err := s.CachePut(ctx, "k", sampleResponse("cached")); err != nil {
		t.Fatalf("CachePut: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = h.store(t)
	got, err := s.Run(ctx, "r")
	if err != nil {
		t.Fatalf("after reopening, Run: %v", err)
	}
	checkRun(t, got, run)
	checkResults(t, mustResults(t, s, "r"), results)
	checkCache(t, s, "k", sampleResponse("cached"))
	// The reopened store takes writes too.
	mustSaveResult(t, s, sampleResult("r", "c", "y", 0))
}

func testClose(t *testing.T, h *harness) {
	s := h.store(t)
	mustSaveRun(t, s, sampleRun("r", base))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.SaveResult(ctx, sampleResult("r", "c", "x", 0)); err == nil {
		t.Error("SaveResult after Close succeeded; want an error")
	}
	if _, err := s.Results(ctx, "r"); err == nil {
		t.Error("Results after Close succeeded; want an error")
	}
}
