package main

import "github.com/tunelab/tunelab/internal/engine"

// stepFLOPs counts the matrix-multiply work one LoRA training step must do,
// so GFLOP/s says how close a step comes to the machine's FMA peak. Only
// work a step cannot avoid is counted (a multiply-add is 2 FLOPs), for T
// tokens per row:
//
//   - frozen weights (every projection and the tied output layer), W of
//     in x out: forward 2*in*out*T; backward only the gradient of the input,
//     another 2*in*out*T (no weight gradient: they are frozen). Layer 0's
//     q, k and v need no input gradient (the embeddings are frozen), so it
//     is not counted.
//   - LoRA A (in x r) and B (r x out) on each projection: forward
//     2*r*(in+out)*T; backward the gradients of B, of A, and of the inputs
//     of B and A, 4*r*(in+out)*T (less A's input gradient on layer 0's q,
//     k and v).
//   - attention: only the causal half of QK^T and of AV, T*(T+1)/2 pairs per
//     row: 4*d*pairs forward, 8*d*pairs backward (dS, dV, dQ, dK), per layer.
//
// Norms, RoPE, softmax, SwiGLU, the loss and AdamW are element-wise and
// not counted. torch_step.py counts the same way; run.sh checks the two
// totals agree.
func stepFLOPs(s engine.Shape, rows, T, r int) float64 {
	d, ff := float64(s.Embedding), float64(s.FeedForward)
	kv := d * float64(s.KVHeads) / float64(s.Heads)
	t, rank := float64(T), float64(r)
	type mat struct {
		in, out      float64
		inputOfBlock bool // reads the block's (normed) input: q, k, v
	}
	mats := []mat{
		{d, d, true}, {d, kv, true}, {d, kv, true}, {d, d, false},
		{d, ff, false}, {d, ff, false}, {ff, d, false},
	}
	var total float64
	for layer := range s.Layers {
		for _, m := range mats {
			skipInputGrad := layer == 0 && m.inputOfBlock
			total += 2 * m.in * m.out * t // frozen forward
			total += 2 * rank * (m.in + m.out) * t
			total += 2 * rank * m.out * t * 2 // dB and the input gradient of B
			total += 2 * m.in * rank * t      // dA
			if !skipInputGrad {
				total += 2 * m.in * m.out * t // frozen input gradient
				total += 2 * m.in * rank * t  // A's input gradient
			}
		}
		pairs := t * (t + 1) / 2
		total += 12 * d * pairs
	}
	out := float64(s.Vocab) * d
	total += 2 * out * t * 2 // output layer: forward and input gradient
	return total * float64(rows)
}
