package pretrain

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestRepeatSpan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	row := make([]int32, 512)
	for i := range row {
		row[i] = int32(i)
	}
	for range 100 {
		out := repeatSpan(rng, row)
		// Every token is the original except one run that repeats an
		// earlier run of the row.
		start, end := -1, -1
		for i := range out {
			if out[i] != row[i] {
				if start < 0 {
					start = i
				}
				end = i + 1
			}
		}
		n := end - start
		if start < 0 || n < 16 || n > 64 {
			t.Fatalf("changed run [%d, %d), want one of 16-64 tokens", start, end)
		}
		from := int(out[start])
		if from+n > start || !slices.Equal(out[start:end], row[from:from+n]) {
			t.Fatalf("run [%d, %d) = %v..., not a copy of an earlier span", start, end, out[start:start+3])
		}
	}
	if short := repeatSpan(rng, row[:20]); !slices.Equal(short, row[:20]) {
		t.Errorf("a row too short for a repeat changed")
	}
}

func TestRandomRepeats(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 20 {
		row := randomRepeats(rng, 512, 4096)
		if len(row) != 512 {
			t.Fatalf("row of %d tokens, want 512", len(row))
		}
		// The row opens with a run of 8-40 tokens said twice.
		n := 0
		for k := 8; k <= 40; k++ {
			if slices.Equal(row[:k], row[k:2*k]) {
				n = k
				break
			}
		}
		if n == 0 {
			t.Fatalf("row does not open with a repeated run: %v", row[:16])
		}
		for _, tok := range row {
			if tok < 8 || tok >= 4096 {
				t.Fatalf("token %d outside the vocabulary's ordinary tokens", tok)
			}
		}
	}
}
