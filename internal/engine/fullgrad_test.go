package engine

import (
	"math"
	"slices"
	"testing"

	"github.com/tunelab/tunelab/internal/gguf"
)

// Full training's gradients, checked by finite differences on the
// weights whose products go through attention and the MLP.
func TestFullGradientMatchesFiniteDifference(t *testing.T) {
	tr := newTrainer(t, newModelFile(t, gguf.Tiny()), 0)
	b := pattern()
	tr.ZeroGrad()
	if _, err := tr.Backward(b, 1, 0, 0); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"blk.1.attn_q.weight", "blk.1.attn_k.weight", "blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.1.attn_v.weight", "blk.0.attn_output.weight", "blk.1.ffn_gate.weight", "blk.0.ffn_down.weight", "token_embd.weight"} {
		t.Run(name, func(t *testing.T) {
			grad, err := tr.Tensor(name + ".grad")
			if err != nil {
				t.Fatal(err)
			}
			w, _ := tr.Tensor(name)
			i := 0
			for j := range grad {
				if math.Abs(float64(grad[j])) > math.Abs(float64(grad[i])) {
					i = j
				}
			}
			const h = 1e-2
			loss := func(delta float32) float64 {
				v := slices.Clone(w)
				v[i] += delta
				if err := tr.SetTensor(name, v); err != nil {
					t.Fatal(err)
				}
				l, err := tr.Loss(b)
				if err != nil {
					t.Fatal(err)
				}
				return float64(l)
			}
			numeric := (loss(h) - loss(-h)) / (2 * h)
			if err := tr.SetTensor(name, w); err != nil {
				t.Fatal(err)
			}
			t.Logf("grad %g numeric %g", grad[i], numeric)
			if d := math.Abs(numeric - float64(grad[i])); d > 0.05*math.Abs(numeric)+1e-4 {
				t.Errorf("gradient %g, finite difference %g", grad[i], numeric)
			}
		})
	}
}
