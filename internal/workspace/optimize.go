package workspace

import (
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/optimize"
	"github.com/tunelab/tunelab/internal/provider"
)

// Optimizer sets up the prompt search for one candidate: its model scored
// with the lab's primary scorer and, when propose is set, the same model
// asked to rewrite the instructions.
func (w *Workspace) Optimizer(cand lab.Candidate, propose bool) (*optimize.Optimizer, error) {
	targets, err := w.Targets([]lab.Candidate{cand})
	if err != nil {
		return nil, err
	}
	scorers, primary, err := w.Scorers()
	if err != nil {
		return nil, err
	}
	var scorer lab.Scorer
	for _, s := range scorers {
		if s.Name() == primary {
			scorer = s
		}
	}
	ref, _ := provider.ParseRef(cand.Model) // validated when the config was read
	p := targets[0].Provider
	o := &optimize.Optimizer{
		Task: w.Task,
		Eval: optimize.NewEvaluator(w.Task, p, ref.Model, cand.Params, scorer, w.Train, w.Config.Concurrency),
	}
	if propose {
		o.Proposer, o.ProposerModel = p, ref.Model
	}
	return o, nil
}
