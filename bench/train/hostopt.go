package main

import (
	"fmt"
	"math"

	"github.com/tunelab/tunelab/internal/engine"
)

// hostAdamW is AdamW done in Go on tensors copied out of the trainer and
// back. It exists because engine.Trainer.Step aborts the process (a ggml
// graph-size assertion) once an adapter has more than about 30 tensors, as
// rank-16 LoRA on all 7 targets of 30 layers (420 tensors) does; with
// -optimizer host the step can still be measured. The optimiser is a small
// share of a step (4.9M of 135M parameters), and the JSON says which one ran.
type hostAdamW struct {
	tr     *engine.Trainer
	params []string
	m, v   map[string][]float64
}

func newHostAdamW(tr *engine.Trainer) *hostAdamW {
	return &hostAdamW{tr: tr, params: tr.Params(), m: map[string][]float64{}, v: map[string][]float64{}}
}

// step applies one AdamW update with decoupled weight decay and bias
// correction, the update torch.optim.AdamW makes; iter counts from 1.
func (h *hostAdamW) step(o engine.AdamW, iter int64) error {
	b1h := 1 / (1 - math.Pow(float64(o.Beta1), float64(iter)))
	b2h := 1 / (1 - math.Pow(float64(o.Beta2), float64(iter)))
	lr, b1, b2, eps, wd := float64(o.LR), float64(o.Beta1), float64(o.Beta2), float64(o.Eps), float64(o.WeightDecay)
	for _, name := range h.params {
		w, err := h.tr.Tensor(name)
		if err != nil {
			return fmt.Errorf("optimiser: %w", err)
		}
		g, err := h.tr.Tensor(name + ".grad")
		if err != nil {
			return fmt.Errorf("optimiser: %w", err)
		}
		m, v := h.m[name], h.v[name]
		if m == nil {
			m, v = make([]float64, len(w)), make([]float64, len(w))
			h.m[name], h.v[name] = m, v
		}
		for i := range w {
			gi := float64(g[i])
			m[i] = b1*m[i] + (1-b1)*gi
			v[i] = b2*v[i] + (1-b2)*gi*gi
			wi := float64(w[i]) * (1 - lr*wd)
			w[i] = float32(wi - lr*(m[i]*b1h)/(math.Sqrt(v[i]*b2h)+eps))
		}
		if err := h.tr.SetTensor(name, w); err != nil {
			return fmt.Errorf("optimiser: %w", err)
		}
	}
	return nil
}
