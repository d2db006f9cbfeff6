package workspace

import (
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/optimize"
)

// Optimizer sets up the prompt search for one candidate: its model scored
// with the lab's primary scorer and, when propose is set, the same model
// asked to rewrite the instructions. Every request goes through the
// store's response cache, so a search killed halfway and run again pays
// only for the calls it had not made.
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
	return optimize.ForTarget(w.Task, targets[0], scorer, w.Train, w.Config.Concurrency, w.Store, propose)
}
