// Package finetune turns a lab's training data into a tuned model: it
// packs tokenized examples into batches, runs the training loop on the
// local engine (schedule, gradient accumulation, validation, early stopping,
// checkpoints that a killed job resumes from) and records the job. The
// provider backends (openaift, export) live in subpackages.
package finetune

import (
	"fmt"
	"math/rand/v2"

	"github.com/tunelab/tunelab/internal/engine"
)

// Example is one tokenized training example. Only the completion's tokens
// are learned; the prompt is context (its tokens are masked out of the
// loss).
type Example struct {
	Prompt     []int32
	Completion []int32
}

func (e Example) len() int { return len(e.Prompt) + len(e.Completion) }

// Pack lays examples into rows of rowLen tokens, several to a row where
// they fit (first fit, in the given order), each its own segment so they
// cannot attend to each other, and groups the rows into batches of rows
// rows. Examples longer than a row are an error: the caller filters them
// and reports them as dropped.
func Pack(examples []Example, rows, rowLen int) ([]engine.Batch, error) {
	type row struct {
		tokens, pos, seg, targets []int32
		used                      int
		n                         int32
	}
	var all []*row
	open := []*row{} // rows with room left, searched first-fit
	for i, ex := range examples {
		n := ex.len()
		if n > rowLen {
			return nil, fmt.Errorf("example %d is %d tokens, longer than a row of %d", i, n, rowLen)
		}
		if len(ex.Completion) == 0 {
			return nil, fmt.Errorf("example %d has no completion tokens to learn", i)
		}
		var r *row
		for j, o := range open {
			if rowLen-o.used >= n {
				r = o
				if rowLen-o.used-n < 2 {
					open = append(open[:j], open[j+1:]...)
				}
				break
			}
		}
		if r == nil {
			r = &row{}
			all = append(all, r)
			if rowLen-n >= 2 {
				open = append(open, r)
			}
			// Keep the search short: only the most recent rows stay open.
			if len(open) > 16 {
				open = open[1:]
			}
		}
		seq := append(append([]int32{}, ex.Prompt...), ex.Completion...)
		for k, tok := range seq {
			target := int32(-1)
			if k+1 < len(seq) && k+1 >= len(ex.Prompt) {
				target = seq[k+1]
			}
			r.tokens = append(r.tokens, tok)
			r.pos = append(r.pos, int32(k))
			r.seg = append(r.seg, r.n)
			r.targets = append(r.targets, target)
		}
		r.used += n
		r.n++
	}
	var batches []engine.Batch
	for start := 0; start < len(all); start += rows {
		end := min(start+rows, len(all))
		b := engine.Batch{Rows: end - start, Len: rowLen}
		for _, r := range all[start:end] {
			pad := rowLen - r.used
			b.Tokens = append(b.Tokens, r.tokens...)
			b.Pos = append(b.Pos, r.pos...)
			b.Seg = append(b.Seg, r.seg...)
			b.Targets = append(b.Targets, r.targets...)
			for k := range pad {
				// Padding is a segment of its own that predicts nothing.
				b.Tokens = append(b.Tokens, 0)
				b.Pos = append(b.Pos, int32(k))
				b.Seg = append(b.Seg, -1)
				b.Targets = append(b.Targets, -1)
			}
		}
		batches = append(batches, b)
	}
	return batches, nil
}

// shuffled is examples in an order fixed by seed and epoch, so a resumed
// job sees the same batches as the run it continues.
func shuffled(examples []Example, seed uint64, epoch int) []Example {
	out := append([]Example(nil), examples...)
	rng := rand.New(rand.NewPCG(seed, uint64(epoch)+1))
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}
