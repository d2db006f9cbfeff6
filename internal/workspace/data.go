package workspace

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/tunelab/tunelab/internal/dataset"
	"github.com/tunelab/tunelab/internal/lab"
)

// loadData reads the splits the config names, or splits one file by its
// ratios, and fixes the dataset version every run records.
func (w *Workspace) loadData() error {
	d := w.Config.Data
	opts := dataset.LoadOptions{Format: d.Format, SkipBad: w.opts.SkipBad,
		Columns: dataset.Columns{Input: d.Columns.Input, Expected: d.Columns.Expected, ID: d.Columns.ID}}
	load := func(field, path string) ([]lab.Example, error) {
		if path == "" {
			return nil, nil
		}
		ds, err := dataset.Load(w.Path(path), opts)
		if err != nil {
			var re dataset.RowError
			if errors.As(err, &re) {
				return nil, fmt.Errorf("data.%s: %w (fix the row, or pass --skip-bad to skip malformed rows)", field, err)
			}
			return nil, fmt.Errorf("data.%s: %w", field, err)
		}
		w.Skipped = append(w.Skipped, ds.Skipped...)
		return ds.Examples, nil
	}
	var err error
	if d.File != "" {
		all, err := load("file", d.File)
		if err != nil {
			return err
		}
		sp, err := dataset.Split(all, dataset.Ratios{Train: d.Split.Train, Validation: d.Split.Validation, Test: d.Split.Test}, d.Split.Seed)
		if err != nil {
			return w.Config.Errorf("data.split", "%v", err)
		}
		w.Train, w.Val, w.Test = sp.Train, sp.Validation, sp.Test
	} else {
		if w.Train, err = load("train", d.Train); err != nil {
			return err
		}
		if w.Val, err = load("validation", d.Validation); err != nil {
			return err
		}
		if w.Test, err = load("test", d.Test); err != nil {
			return err
		}
		// Carve validation out of train when asked and no file is given,
		// so prompt optimisation never has to look at the test split.
		if len(w.Val) == 0 && d.Split.Validation > 0 && len(w.Train) > 0 {
			sp, err := dataset.Split(w.Train, dataset.Ratios{Train: 1 - d.Split.Validation, Validation: d.Split.Validation}, d.Split.Seed)
			if err != nil {
				return w.Config.Errorf("data.split.validation", "%v", err)
			}
			w.Train, w.Val = sp.Train, sp.Validation
		}
	}
	if len(w.Test) == 0 {
		return w.Config.Errorf("data", "the test split is empty: every candidate is scored on it, so it needs examples")
	}
	if d.Limit > 0 && d.Limit < len(w.Test) {
		w.Test = w.Test[:d.Limit]
	}
	if w.Task.Output == lab.OutputLabel {
		if err := w.checkLabels(); err != nil {
			return err
		}
	}
	for _, l := range dataset.Leakage(w.Train, w.Test, dataset.DedupeOptions{ExactOnly: true}) {
		w.Warnings = append(w.Warnings, fmt.Sprintf("test case %s repeats train example %s: it measures memory, not skill (tunelab data dedupe finds these)", l.B, l.A))
	}
	h := sha256.New()
	for _, part := range []struct {
		name string
		exs  []lab.Example
	}{{"train", w.Train}, {"validation", w.Val}, {"test", w.Test}} {
		fmt.Fprintf(h, "%s:%s;", part.name, dataset.Version(part.exs))
	}
	w.Version = hex.EncodeToString(h.Sum(nil))[:16]
	return nil
}

// checkLabels refuses test cases whose expected label the task does not
// list: such a case can never pass and would quietly lower every score.
func (w *Workspace) checkLabels() error {
	known := map[string]bool{}
	for _, l := range w.Task.Labels {
		known[l] = true
	}
	for _, part := range []struct {
		field string
		exs   []lab.Example
	}{{"train", w.Train}, {"validation", w.Val}, {"test", w.Test}} {
		for _, ex := range part.exs {
			if !known[ex.Expected] {
				where := ex.Source
				if ex.Line > 0 {
					where = fmt.Sprintf("%s:%d", ex.Source, ex.Line)
				}
				return fmt.Errorf("%s: field \"expected\": %q is not one of task.labels in %s: add it there or fix the row", where, ex.Expected, w.Config.Path)
			}
		}
	}
	return nil
}
