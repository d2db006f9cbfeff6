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
	"sort"
	"strings"

	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/optimize"
	"github.com/tunelab/tunelab/internal/workspace"
)

// optimizeOptions is the search the ladder runs: a modest budget, so the
// rung costs minutes, not hours, on a local model.
var optimizeOptions = optimize.Options{Budget: 200, Seed: 1, DemoSets: 4, Proposals: 3, K: 4}

// outcomeVersion is part of the key a search's outcome is kept under.
// Version 2 starts from the best hand-written prompt on validation (not
// the first) and keys by the model file's version too, so an outcome
// written before either is not reused. Version 3 stores the outcome
// compactly (see encodeOutcome), so an indented file is searched again.
const outcomeVersion = 3

// measured is a hand-written prompt scored on the validation split.
type measured struct {
	name    string
	variant lab.Variant
	cand    lab.Candidate
	score   float64
}

// optimizeRung searches for a better prompt than the best hand-written
// one, for the first model, on the validation split, and returns the best
// prompt to add to the candidates (nil when the rung is skipped or found
// nothing better). Every call goes through the store's response cache, so
// measuring the prompts again, or a search killed halfway and run again,
// pays only for the calls not made before. The outcome is also kept in the
// lab, keyed by everything that decides it, so a second ladder run reuses
// it without replaying the search.
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
	model := w.Config.Models[0].Model
	bases := startingPoints(w, model)
	if len(bases) == 0 {
		rung(name, Skipped, "no prompt the search can start from is used with %s (prompts with retrieval cannot be: the search does not retrieve)", model)
		return nil, nil
	}
	o, version, err := searcher(w, bases[0].cand)
	if err != nil {
		return nil, fmt.Errorf("prompt optimisation: %w", err)
	}
	start, why, err := pickStart(ctx, w, o, bases)
	if err != nil {
		return nil, fmt.Errorf("prompt optimisation: %w", err)
	}
	if start == nil {
		rung(name, Skipped, "every call of every prompt failed on validation with %s (%s)", model, why)
		return nil, nil
	}

	key, err := json.Marshal(struct {
		Version      int
		Model        string
		ModelVersion string
		Base         lab.Variant
		Data         string
		Params       lab.Params
		Options      optimize.Options
	}{outcomeVersion, model, version, start.variant, w.Version, start.cand.Params, optimizeOptions})
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
		if out, err = decodeOutcome(raw); err != nil {
			return nil, fmt.Errorf("prompt optimisation: %s is damaged (delete it to search again): %w", path, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		status = Ran
		if out, err = o.Run(ctx, start.variant, w.Train, w.Val, optimizeOptions); err != nil {
			return nil, fmt.Errorf("prompt optimisation: %w", err)
		}
		raw, err := encodeOutcome(out)
		if err != nil {
			return nil, err
		}
		if err := fsutil.WriteFileAtomic(path, raw, 0o644); err != nil {
			return nil, err
		}
	default:
		return nil, err
	}
	from := fmt.Sprintf("from %q, %s", start.name, why)
	cache := cacheNote(o)
	if out.BestScore <= out.BaseScore {
		rung(name, status, "%s: nothing beat it on validation (%.1f%%) in %d calls%s", from, 100*out.BaseScore, out.Calls, cache)
		return nil, nil
	}
	rung(name, status, "%s: %.1f%% -> %.1f%% on validation in %d calls; evaluated as %q%s", from,
		100*out.BaseScore, 100*out.BestScore, out.Calls, optimize.BestName, cache)
	p := promptSpecOf(out.Best)
	return &p, nil
}

// startingPoints lists, in config order, the prompts the search can start
// from for model: those used with it, without retrieval. The optimiser
// renders its trials itself and retrieves nothing, so a retrieval prompt
// would be measured and searched without the chunks it is defined by;
// retrieval is the RAG rung's to measure.
func startingPoints(w *workspace.Workspace, model string) []measured {
	var out []measured
	for _, c := range w.Candidates() {
		if c.Model != model || c.Retrieval != nil {
			continue
		}
		v, ok := w.Variant(c.Variant.Name)
		if !ok {
			continue
		}
		out = append(out, measured{name: c.Variant.Name, variant: v, cand: c})
	}
	return out
}

// searcher sets up the search for cand's model with the lab's primary
// scorer, every request going through the lab's response cache, and the
// same model proposing instructions. It also returns the model file's
// version ("" for a model that is not a local file).
func searcher(w *workspace.Workspace, cand lab.Candidate) (*optimize.Optimizer, string, error) {
	targets, err := w.Targets([]lab.Candidate{cand})
	if err != nil {
		return nil, "", err
	}
	scorers, primary, err := w.Scorers()
	if err != nil {
		return nil, "", err
	}
	var scorer lab.Scorer
	for _, s := range scorers {
		if s.Name() == primary {
			scorer = s
		}
	}
	o, err := optimize.ForTarget(w.Task, targets[0], scorer, w.Train, w.Config.Concurrency, w.Store, true)
	return o, targets[0].ModelVersion, err
}

// pickStart scores every starting point on the validation split with the
// search's own evaluator, so the search's first trial, the start scored
// again, is answered from the cache, and returns the best (the earliest
// in the config on a tie, as the simpler choice) with a phrase saying why.
// A prompt whose every call failed cannot be a start; nil when none can.
func pickStart(ctx context.Context, w *workspace.Workspace, o *optimize.Optimizer, bases []measured) (*measured, string, error) {
	calls := 0
	var ok []measured
	var failed []string
	for _, b := range bases {
		r, err := o.Eval(ctx, b.variant, w.Val)
		calls += r.Calls
		if err != nil {
			return nil, "", fmt.Errorf("measure prompt %q on validation: %w", b.name, err)
		}
		if r.Errors() == len(r.Cases) {
			failed = append(failed, b.name)
			continue
		}
		b.score = r.Score()
		ok = append(ok, b)
	}
	if len(ok) == 0 {
		return nil, fmt.Sprintf("%d calls", calls), nil
	}
	sort.SliceStable(ok, func(i, j int) bool { return ok[i].score > ok[j].score })
	const shown = 4
	var scores []string
	for i, b := range ok {
		if i == shown {
			scores = append(scores, fmt.Sprintf("%d more", len(ok)-shown))
			break
		}
		scores = append(scores, fmt.Sprintf("%s %.1f%%", b.name, 100*b.score))
	}
	why := fmt.Sprintf("the best of %d hand-written prompts on validation with %s (%s; %d calls)",
		len(ok), ok[0].cand.Model, strings.Join(scores, ", "), calls)
	if len(ok) == 1 {
		why = fmt.Sprintf("the only hand-written prompt the search can start from with %s (%.1f%% on validation; %d calls)", ok[0].cand.Model, 100*ok[0].score, calls)
	}
	if len(failed) > 0 {
		why += fmt.Sprintf("; left out, every call failed: %s", strings.Join(failed, ", "))
	}
	return &ok[0], why, nil
}

// cacheNote says how many of the rung's requests the response cache
// answered, and whether any answer could not be kept for the next run.
func cacheNote(o *optimize.Optimizer) string {
	c := o.Cached
	if c == nil {
		return ""
	}
	s := ""
	if h := c.Hits(); h > 0 {
		s = fmt.Sprintf("; %d of %d requests answered from the cache", h, h+c.Calls())
	}
	if err := c.Err(); err != nil {
		s += fmt.Sprintf("; warning: %v", err)
	}
	return s
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

// encodeOutcome writes an outcome as compact JSON. Indenting would
// re-indent the JSON schema a variant embeds (a json.RawMessage), so a
// reused outcome would render other instructions than the fresh one and
// give the run another id: every call of that candidate made again.
func encodeOutcome(out optimize.Outcome) ([]byte, error) { return json.Marshal(out) }

func decodeOutcome(raw []byte) (optimize.Outcome, error) {
	var out optimize.Outcome
	err := json.Unmarshal(raw, &out)
	return out, err
}
