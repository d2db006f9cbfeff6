package engine

import (
	"context"
	"testing"
)

// BenchmarkGenerate measures greedy generation on the tiny model; the
// binding's cost against llama.cpp's own loop is measured by bench/engine.
func BenchmarkGenerate(b *testing.B) {
	m := loadTiny(b, Options{})
	prompt, err := m.Tokenize("The river town wakes before the sun.", true, false)
	if err != nil {
		b.Fatal(err)
	}
	tokens := 0
	for b.Loop() {
		r, err := m.GenerateTokens(context.Background(), prompt, GenerateOptions{MaxTokens: 32}, nil)
		if err != nil {
			b.Fatal(err)
		}
		tokens += r.OutputTokens
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkEmbed(b *testing.B) {
	m := loadTiny(b, Options{})
	for b.Loop() {
		if _, _, err := m.Embed(context.Background(), "Customer messages arrive all day."); err != nil {
			b.Fatal(err)
		}
	}
}
