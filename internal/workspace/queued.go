package workspace

import (
	"context"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
)

// PrepareRun makes a run started elsewhere runnable in this lab, for a
// worker. It refuses a run whose identity this lab would not give it: a
// different dataset, scorers, repeats or local model file would make the
// worker's answers not the run's.
func (w *Workspace) PrepareRun(_ context.Context, run lab.RunInfo) (*eval.Prepared, error) {
	specs, primary := w.ScorerSpecs()
	mine := w.RunInfoFor(run.Candidates, specs, primary, make([]lab.Example, run.Cases), w.Version)
	if mine.ID != run.ID {
		return nil, &eval.LabMismatchError{Run: run.ID}
	}
	targets, err := w.Targets(run.Candidates)
	if err != nil {
		return nil, err
	}
	p := &eval.Prepared{
		Targets: make(map[string]*eval.Target, len(targets)),
		Cases:   make(map[string]lab.Example, len(w.Train)+len(w.Val)+len(w.Test)),
	}
	for i := range targets {
		p.Targets[targets[i].Candidate.ID] = &targets[i]
	}
	for _, split := range [][]lab.Example{w.Train, w.Val, w.Test} {
		for _, ex := range split {
			p.Cases[ex.ID] = ex
		}
	}
	return p, nil
}
