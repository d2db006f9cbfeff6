// Package workspace opens a lab: it reads tunelab.yaml, loads and splits
// the data, opens the store, and turns the config's models and prompt
// variants into candidates ready to run. Commands share it so that
// `tunelab eval`, the ladder and the server see a lab the same way.
package workspace

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/cost"
	"github.com/tunelab/tunelab/internal/dataset"
	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/eval/score"
	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/provider/local"
	"github.com/tunelab/tunelab/internal/store"
)

// Options adjust how a lab is opened.
type Options struct {
	// SkipBad loads datasets even if some rows are malformed, skipping them.
	SkipBad bool
	// Models, when set, replace the config's models (written forms).
	Models []string
	// StoreDSN overrides the config's store.
	StoreDSN string
	// Store, when set, is used instead of opening one, and is left open
	// by Close (a server reloading its lab keeps its store).
	Store lab.Store
	// HTTPClient is given to every provider (tests use it).
	HTTPClient *http.Client
	// CheckModels makes Open build every remote model's provider before it
	// opens the store, so that a missing API key stops a command that will
	// call models before it has written anything. Local models are left to
	// load when used: loading one to check it would cost a second load.
	CheckModels bool
}

// Workspace is an opened lab.
type Workspace struct {
	Config  *config.Config
	Task    lab.Task
	Train   []lab.Example
	Val     []lab.Example
	Test    []lab.Example
	Version string // dataset version: a hash of every split's content
	Skipped []dataset.RowError
	// Warnings are problems worth saying that do not stop a run.
	Warnings []string
	Store    lab.Store
	// DSN is the store's DSN as opened (a lab-relative SQLite path made
	// absolute); empty when Options.Store was given.
	DSN    string
	Prices *cost.Table
	opts   Options

	kmu       sync.Mutex
	knowledge *Knowledge
	searchers map[string]*lazySearcher
}

// Open reads the config at path (a file or a lab directory) and loads the data.
func Open(ctx context.Context, path string, opts Options) (*Workspace, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	if len(opts.Models) > 0 {
		cfg.Models = cfg.Models[:0]
		for _, m := range opts.Models {
			if _, err := provider.ParseRef(m); err != nil {
				return nil, fmt.Errorf("--model: %w", err)
			}
			cfg.Models = append(cfg.Models, config.ModelSpec{Model: m})
		}
	}
	w := &Workspace{Config: cfg, Task: cfg.LabTask(), opts: opts}
	if err := w.loadData(); err != nil {
		return nil, err
	}
	w.Prices, err = cost.LoadTable("")
	if err != nil {
		return nil, err
	}
	for name, p := range cfg.Prices {
		w.Prices.Set(name, cost.Price{InputPerM: p.Input, OutputPerM: p.Output})
	}
	if opts.CheckModels {
		for _, m := range cfg.Models {
			if ref, err := provider.ParseRef(m.Model); err == nil && ref.Provider == local.Name {
				continue
			}
			if _, err := w.provider(m.Model, m); err != nil {
				return nil, err
			}
		}
	}
	dsn := StoreDSN(cfg, opts.StoreDSN)
	// Retrieval candidates are identified by the knowledge they search, so
	// the index is synced before any candidate is made.
	if usesRetrieval(cfg) {
		if _, err := w.Knowledge(ctx); err != nil {
			return nil, err
		}
	}
	if opts.Store != nil {
		w.Store = opts.Store
		return w, nil
	}
	w.DSN = dsn
	w.Store, err = store.Open(ctx, dsn)
	if err != nil {
		w.closeKnowledge()
		return nil, fmt.Errorf("open store: %w", err)
	}
	return w, nil
}

// StoreDSN is the store a lab uses: override when given, else the config's,
// with a relative SQLite path taken from the lab's directory.
func StoreDSN(cfg *config.Config, override string) string {
	dsn := cfg.Store
	if override != "" {
		dsn = override
	}
	if !strings.Contains(dsn, "://") && !strings.HasPrefix(dsn, "sqlite:") && !filepath.IsAbs(dsn) {
		dsn = filepath.Join(cfg.Dir, dsn)
	}
	return dsn
}

// Close releases the store and the knowledge index.
func (w *Workspace) Close() error {
	var err error
	if w.opts.Store == nil {
		err = w.Store.Close()
	}
	if kerr := w.closeKnowledge(); err == nil {
		err = kerr
	}
	return err
}

func (w *Workspace) closeKnowledge() error {
	w.kmu.Lock()
	defer w.kmu.Unlock()
	if w.knowledge == nil {
		return nil
	}
	err := w.knowledge.Index.Close()
	w.knowledge, w.searchers = nil, nil
	return err
}

// Path resolves a path written in the config against the lab directory.
func (w *Workspace) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(w.Config.Dir, p)
}

// Candidates crosses models with prompt variants, in config order.
func (w *Workspace) Candidates() []lab.Candidate {
	return w.CandidatesFor(w.Task, w.Config.Prompts)
}

// CandidatesFor crosses the config's models with prompts, expanded for
// task (the ladder asks the knowledge questions as a task of their own).
func (w *Workspace) CandidatesFor(task lab.Task, prompts []config.PromptSpec) []lab.Candidate {
	cfg := w.Config
	index := w.knowledgeVersion()
	var out []lab.Candidate
	for _, m := range cfg.Models {
		for _, p := range prompts {
			if len(p.Models) > 0 && !contains(p.Models, m.ModelID()) {
				continue
			}
			out = append(out, lab.Candidate{
				ID:        m.ModelID() + "/" + p.Name,
				Model:     m.Model,
				Variant:   prompt.Expand(variantOf(p), task),
				Params:    lab.Params{Temperature: cfg.Params.Temperature, MaxTokens: cfg.Params.MaxTokens, Seed: cfg.Params.Seed},
				Retrieval: cfg.Search(p.Retrieval, index),
			})
		}
	}
	return out
}

// Variant returns the prompt variant named name as the config writes it,
// before its technique's defaults are filled in.
func (w *Workspace) Variant(name string) (lab.Variant, bool) {
	for _, p := range w.Config.Prompts {
		if p.Name == name {
			return variantOf(p), true
		}
	}
	return lab.Variant{}, false
}

func variantOf(p config.PromptSpec) lab.Variant {
	v := lab.Variant{
		Name: p.Name, Technique: p.Technique, System: p.System, Instructions: p.Instructions,
		Template: p.Template, ChainOfThought: p.ChainOfThought, AnswerPattern: p.AnswerPattern,
		JSONSchema: p.JSONSchema, AnswerField: p.AnswerField,
	}
	if fs := p.FewShot; fs != nil {
		v.FewShot = &lab.FewShot{K: fs.K, Select: fs.Select, IDs: fs.IDs, Seed: fs.Seed}
	}
	return v
}

// RunInfo describes a run of cands over the test split. Its id is a hash of
// everything that decides the results, so the same command on the same lab
// resumes the same run and any change starts a new one.
func (w *Workspace) RunInfo(cands []lab.Candidate, scorers []lab.ScorerSpec, primary string) lab.RunInfo {
	return w.RunInfoFor(cands, scorers, primary, w.Test, w.Version)
}

// RunInfoFor describes a run of cands over cases, whose content version
// is version.
func (w *Workspace) RunInfoFor(cands []lab.Candidate, scorers []lab.ScorerSpec, primary string, cases []lab.Example, version string) lab.RunInfo {
	names := make([]string, len(scorers))
	for i, s := range scorers {
		names[i] = s.Name
	}
	// Local model files are part of the run's identity: the same name may
	// stand for a retrained or replaced file.
	versions := map[string]string{}
	for _, c := range cands {
		if v := w.modelVersion(c.Model); v != "" {
			versions[c.Model] = v
		}
		// A groundedness judge decides a retrieval result's verdict.
		if j := w.Config.Retrieval.Judge; c.Retrieval != nil && j != "" {
			versions[groundJudgeKey] = j
		}
	}
	key, _ := json.Marshal(struct {
		C []lab.Candidate
		D string
		R int
		S []lab.ScorerSpec
		N int
		V map[string]string `json:",omitempty"`
	}{cands, version, w.Config.Repeats, scorers, len(cases), versions}) // plain data always marshals
	h := sha256.Sum256(key)
	return lab.RunInfo{
		ID: "run-" + hex.EncodeToString(h[:6]), Lab: w.Task.Name, Dataset: version,
		Candidates: cands, Cases: len(cases), Repeats: w.Config.Repeats,
		PrimaryScorer: primary, ScorerNames: names, ConfigChecksum: hex.EncodeToString(h[:]),
	}
}

// ScorerSpecs returns the config's scorers as domain specs and the primary's name.
func (w *Workspace) ScorerSpecs() ([]lab.ScorerSpec, string) {
	var out []lab.ScorerSpec
	primary := ""
	for _, s := range w.Config.Scorers {
		out = append(out, lab.ScorerSpec{Type: s.Type, Name: s.Name, Primary: s.Primary, Pattern: s.Pattern, Field: s.Field, Schema: s.Schema, Model: s.Model, Rubric: s.Rubric, Threshold: s.Threshold})
		if s.Primary {
			primary = s.Name
		}
	}
	return out, primary
}

// Scorers builds the configured scorers.
func (w *Workspace) Scorers() ([]lab.Scorer, string, error) {
	specs, primary := w.ScorerSpecs()
	var out []lab.Scorer
	for i, s := range specs {
		deps := score.Deps{Labels: w.Task.Labels, TaskDescription: w.Task.Description}
		if s.Model != "" {
			p, err := w.provider(s.Model, config.ModelSpec{Model: s.Model})
			if err != nil {
				return nil, "", w.Config.Errorf(fmt.Sprintf("scorers[%d].model", i), "%v", err)
			}
			deps.Judge = p
			if e, ok := p.(provider.Embedder); ok {
				deps.Embedder = e
			}
		}
		sc, err := score.New(s, deps)
		if err != nil {
			return nil, "", w.Config.Errorf(fmt.Sprintf("scorers[%d]", i), "%v", err)
		}
		out = append(out, sc)
	}
	return out, primary, nil
}

// Targets makes candidates runnable: one provider per model, shared by its
// candidates, wrapped in retries and rate limits.
func (w *Workspace) Targets(cands []lab.Candidate) ([]eval.Target, error) {
	return w.TargetsFor(w.Task, w.Train, cands)
}

// TargetsFor makes candidates of task runnable, drawing demonstrations
// from pool. Retrieval candidates search the knowledge index, which must
// have been opened with Knowledge.
func (w *Workspace) TargetsFor(task lab.Task, pool []lab.Example, cands []lab.Candidate) ([]eval.Target, error) {
	byModel := map[string]provider.Provider{}
	specs := map[string]config.ModelSpec{}
	for _, m := range w.Config.Models {
		specs[m.Model] = m
	}
	builders := map[string]*prompt.Builder{}
	var out []eval.Target
	for _, c := range cands {
		p, ok := byModel[c.Model]
		if !ok {
			var err error
			p, err = w.provider(c.Model, specs[c.Model])
			if err != nil {
				return nil, err
			}
			byModel[c.Model] = p
		}
		b, ok := builders[c.Variant.Name]
		if !ok {
			var err error
			b, err = prompt.NewBuilder(task, c.Variant, pool)
			if err != nil {
				return nil, err
			}
			builders[c.Variant.Name] = b
		}
		ref, _ := provider.ParseRef(c.Model) // validated when the config was read
		t := eval.Target{
			Candidate:    c,
			Builder:      b,
			Provider:     p,
			Price:        w.pricer(ref),
			CountTokens:  func(s string) int { return cost.CountTokens(ref.Model, s) },
			ModelVersion: w.modelVersion(c.Model),
		}
		if c.Retrieval != nil {
			search, err := w.retriever(c.Retrieval)
			if err != nil {
				return nil, err
			}
			t.Retrieve = search
			if t.Judge, err = w.groundJudge(byModel, specs); err != nil {
				return nil, err
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// modelVersion fingerprints a local model's file ("" for other models, or
// when the file cannot be read, which the provider reports itself).
func (w *Workspace) modelVersion(model string) string {
	ref, err := provider.ParseRef(model)
	if err != nil || ref.Provider != local.Name {
		return ""
	}
	v, err := fsutil.Fingerprint(local.Resolve(w.Config.Dir, ref.Model))
	if err != nil {
		return ""
	}
	return v
}

func (w *Workspace) provider(model string, spec config.ModelSpec) (provider.Provider, error) {
	ref, err := provider.ParseRef(model)
	if err != nil {
		return nil, err
	}
	opts := map[string]string{}
	for k, v := range spec.Options {
		opts[k] = v
	}
	if spec.APIKeyEnv != "" {
		opts["api_key_env"] = spec.APIKeyEnv
	}
	p, err := provider.New(provider.Config{Ref: ref, HTTPClient: w.opts.HTTPClient, Timeout: w.Config.Timeout, Dir: w.Config.Dir, Options: opts})
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", model, err)
	}
	p = provider.WithRetry(p, provider.RetryPolicy{MaxAttempts: w.Config.Retries})
	if spec.RPM > 0 || spec.TPM > 0 {
		p = provider.WithLimits(p, provider.Limits{RPM: spec.RPM, TPM: spec.TPM})
	}
	return p, nil
}

// pricer prices a call: by the token price table for API models, by the
// machine's hourly price for models that run on hardware the team pays for.
func (w *Workspace) pricer(ref provider.Ref) func(int, int, time.Duration) float64 {
	if ref.Provider == "local" || ref.Provider == "openai-compatible" {
		hourly := w.Config.Local.HourlyUSD
		return func(_, _ int, lat time.Duration) float64 { return cost.LocalCost(lat.Seconds(), hourly) }
	}
	price, ok := w.Prices.Lookup(ref.Model)
	if !ok {
		return nil
	}
	return func(in, out int, _ time.Duration) float64 { return cost.CallCost(price, in, out) }
}

// UnpricedModels lists API models with no known price, so the command can
// say so instead of showing a misleading zero cost.
func (w *Workspace) UnpricedModels() []string {
	var out []string
	for _, m := range w.Config.Models {
		ref, err := provider.ParseRef(m.Model)
		if err != nil || ref.Provider == "local" || ref.Provider == "openai-compatible" {
			continue
		}
		if _, ok := w.Prices.Lookup(ref.Model); !ok {
			out = append(out, m.Model)
		}
	}
	sort.Strings(out)
	return out
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
