package workspace

import (
	"context"
	"errors"
	"fmt"

	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/cost"
	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/eval/score"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/provider"
)

// Deployable finds the candidate id names: in the newest run that has it
// (which is where the ladder's tuned candidates live), else among the
// config's candidates. quality is the candidate's primary pass rate in that
// run, nil when it was never run.
func (w *Workspace) Deployable(ctx context.Context, id string) (c lab.Candidate, quality *float64, err error) {
	runs, err := w.Store.Runs(ctx)
	if err != nil {
		return c, nil, err
	}
	for _, run := range runs {
		for _, rc := range run.Candidates {
			if rc.ID != id {
				continue
			}
			results, err := w.Store.Results(ctx, run.ID)
			if err != nil {
				return c, nil, err
			}
			pass, n := 0, 0
			for _, r := range results {
				if r.CandidateID == id && r.Error == "" {
					n++
					if r.Pass {
						pass++
					}
				}
			}
			if n > 0 {
				q := float64(pass) / float64(n)
				quality = &q
			}
			return rc, quality, nil
		}
	}
	var ids []string
	for _, cc := range w.Candidates() {
		if cc.ID == id {
			return cc, nil, nil
		}
		ids = append(ids, cc.ID)
	}
	return c, nil, fmt.Errorf("no candidate %q in this lab's runs or config; candidates in the config: %v (tuned ones appear after `tunelab ladder`)", id, ids)
}

// Freeze makes a deployment of c: the task, the candidate, the
// demonstrations its prompt may draw on and the model file's fingerprint.
func (w *Workspace) Freeze(name string, c lab.Candidate, quality *float64) lab.Deployment {
	d := lab.Deployment{
		Name: name, Lab: w.Task.Name, Task: w.Task, Candidate: c, Quality: quality,
		ModelVersion: w.modelVersion(c.Model), Dataset: w.Version,
	}
	if c.Variant.FewShot != nil && c.Variant.FewShot.K > 0 {
		d.Demos = append([]lab.Example(nil), w.Train...)
	}
	return d
}

// ErrModelChanged matches (errors.Is) a deployment whose local model file
// is not the one it was deployed with.
var ErrModelChanged = errors.New("model file changed since the deployment was made")

// ServeTarget makes a deployment runnable. It refuses a local model file
// that is not the one deployed: serving a different model under a measured
// version would make the measurement a lie.
func (w *Workspace) ServeTarget(d lab.Deployment) (eval.Target, error) {
	c := d.Candidate
	if have := w.modelVersion(c.Model); d.ModelVersion != "" && have != d.ModelVersion {
		return eval.Target{}, fmt.Errorf("deployment %s v%d: %s: %w; deploy it again to serve the new file", d.Name, d.Version, c.Model, ErrModelChanged)
	}
	var spec config.ModelSpec
	for _, m := range w.Config.Models {
		if m.Model == c.Model {
			spec = m
		}
	}
	p, err := w.provider(c.Model, spec)
	if err != nil {
		return eval.Target{}, fmt.Errorf("deployment %s: %w", d.Name, err)
	}
	b, err := prompt.NewBuilder(d.Task, c.Variant, d.Demos)
	if err != nil {
		return eval.Target{}, fmt.Errorf("deployment %s: %w", d.Name, err)
	}
	ref, _ := provider.ParseRef(c.Model) // the provider above parsed it
	t := eval.Target{
		Candidate: c, Builder: b, Provider: p, Price: w.pricer(ref),
		CountTokens:  func(s string) int { return cost.CountTokens(ref.Model, s) },
		ModelVersion: d.ModelVersion,
	}
	if c.Retrieval != nil {
		// The knowledge is served as it is now: unlike the model, it is
		// meant to change under a deployment (that is why it is retrieved).
		if t.Retrieve, err = w.retriever(c.Retrieval); err != nil {
			return eval.Target{}, fmt.Errorf("deployment %s: %w", d.Name, err)
		}
	}
	return t, nil
}

// JudgeScorer builds a judge scorer for model with rubric, for grading live
// answers that have no reference.
func (w *Workspace) JudgeScorer(model, rubric string) (lab.Scorer, error) {
	p, err := w.provider(model, config.ModelSpec{Model: model})
	if err != nil {
		return nil, err
	}
	return score.New(lab.ScorerSpec{Type: score.TypeJudge, Name: "judge", Model: model, Rubric: rubric},
		score.Deps{TaskDescription: w.Task.Description, Judge: p})
}
