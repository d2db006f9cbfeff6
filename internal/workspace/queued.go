package workspace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/provider/local"
)

// PrepareRun makes a run started elsewhere runnable in this lab, for a
// worker. It refuses a run whose identity this lab would not give it: a
// different dataset, scorers, repeats or local model file would make the
// worker's answers not the run's.
func (w *Workspace) PrepareRun(ctx context.Context, run lab.RunInfo) (*eval.Prepared, error) {
	if err := w.fetchModels(ctx, run.Candidates); err != nil {
		return nil, err
	}
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

// ModelArtifact names a lab model file (models/NAME.gguf) in the store,
// where a tuning job trained on another machine leaves its result.
func ModelArtifact(file string) string { return "models/" + file }

// fetchModels copies from the store the lab models a run uses that this
// lab lacks, so a model tuned by one worker reaches every worker that
// evaluates it. A file that is not the run's still changes the run's id
// here, so it is refused, never used.
func (w *Workspace) fetchModels(ctx context.Context, cands []lab.Candidate) error {
	dir := filepath.Join(w.Config.Dir, local.ModelsDir)
	for _, c := range cands {
		ref, err := provider.ParseRef(c.Model)
		if err != nil || ref.Provider != local.Name {
			continue
		}
		path := local.Resolve(w.Config.Dir, ref.Model)
		if filepath.Dir(path) != dir {
			continue
		}
		if _, err := os.Stat(path); err == nil {
			continue
		}
		name := ModelArtifact(filepath.Base(path))
		if _, err := w.Store.Artifact(ctx, name); errors.Is(err, lab.ErrNotFound) {
			continue
		} else if err != nil {
			return err
		}
		err = fsutil.WriteAtomic(path, 0o644, func(out io.Writer) error {
			_, err := w.Store.ReadArtifact(ctx, name, out)
			return err
		})
		if err != nil {
			return fmt.Errorf("fetch %s from the store: %w", c.Model, err)
		}
	}
	return nil
}
