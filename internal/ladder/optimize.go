package ladder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/optimize"
	"github.com/tunelab/tunelab/internal/workspace"
)

// optimizeOptions is the search the ladder runs: a modest budget, so the
// rung costs minutes, not hours, on a local model.
var optimizeOptions = optimize.Options{Budget: 200, Seed: 1, DemoSets: 4, Proposals: 3, K: 4}

// optimizeRung searches for a better prompt than the config's first one,
// for the first model, on the validation split, and returns the best
// prompt to add to the candidates (nil when the rung is skipped or found
// nothing better). The outcome is kept in the lab keyed by everything that
// decides it, so a second ladder run reuses it instead of searching again.
func optimizeRung(ctx context.Context, w *workspace.Workspace, rung func(name, status, format string, args ...any)) (*config.PromptSpec, error) {
	const name = "prompt optimisation"
	if len(w.Val) == 0 {
		rung(name, Skipped, "no validation split to search on (set data.split.validation)")
		return nil, nil
	}
	if len(w.Config.Models) == 0 || len(w.Config.Prompts) == 0 {
		rung(name, Skipped, "no model or prompt to start from")
		return nil, nil
	}
	spec := w.Config.Prompts[0]
	base, _ := w.Variant(spec.Name)
	var cand *lab.Candidate
	for _, c := range w.Candidates() {
		if c.Variant.Name == spec.Name && c.Model == w.Config.Models[0].Model {
			cand = &c
			break
		}
	}
	if cand == nil {
		rung(name, Skipped, "the first prompt, %q, is not used with the first model", spec.Name)
		return nil, nil
	}
	key, err := json.Marshal(struct {
		Model   string
		Base    lab.Variant
		Data    string
		Params  lab.Params
		Options optimize.Options
	}{cand.Model, base, w.Version, cand.Params, optimizeOptions})
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(key)
	path := filepath.Join(w.Config.Dir, ".tunelab", "ladder", "optimize-"+hex.EncodeToString(sum[:8])+".json")

	var out optimize.Outcome
	status := Reused
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, fmt.Errorf("prompt optimisation: %s is damaged (delete it to search again): %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		status = Ran
		if out, err = search(ctx, w, *cand, base); err != nil {
			return nil, fmt.Errorf("prompt optimisation: %w", err)
		}
		raw, err := json.MarshalIndent(out, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := fsutil.WriteFileAtomic(path, raw, 0o644); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	if out.BestScore <= out.BaseScore {
		rung(name, status, "from %q on %s: nothing beat it on validation (%.1f%%) in %d calls", spec.Name, cand.Model, 100*out.BaseScore, out.Calls)
		return nil, nil
	}
	rung(name, status, "from %q on %s: %.1f%% -> %.1f%% on validation in %d calls; evaluated as %q", spec.Name, cand.Model,
		100*out.BaseScore, 100*out.BestScore, out.Calls, optimize.BestName)
	p := promptSpecOf(out.Best)
	return &p, nil
}

// search runs the optimiser for one candidate, proposals by the same model.
func search(ctx context.Context, w *workspace.Workspace, cand lab.Candidate, base lab.Variant) (optimize.Outcome, error) {
	o, err := w.Optimizer(cand, true)
	if err != nil {
		return optimize.Outcome{}, err
	}
	return o.Run(ctx, base, w.Train, w.Val, optimizeOptions)
}

// promptSpecOf writes a variant back as a config entry.
func promptSpecOf(v lab.Variant) config.PromptSpec {
	p := config.PromptSpec{
		Name: v.Name, Technique: v.Technique, System: v.System, Instructions: v.Instructions, Template: v.Template,
		ChainOfThought: v.ChainOfThought, AnswerPattern: v.AnswerPattern, JSONSchema: v.JSONSchema, AnswerField: v.AnswerField,
	}
	if fs := v.FewShot; fs != nil {
		p.FewShot = &config.FewShotSpec{K: fs.K, Select: fs.Select, IDs: fs.IDs, Seed: fs.Seed}
	}
	return p
}
