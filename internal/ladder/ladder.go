// Package ladder runs tunelab's main job: every rung from prompting to
// fine-tuning on the lab's own data, all on the same test split with the
// same scorers, then the verdict. Each rung resumes or reuses what an
// earlier run finished, and a rung whose inputs are missing is skipped
// with the reason, never faked.
package ladder

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tunelab/tunelab/internal/advisor"
	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/cost"
	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/finetune"
	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/provider/local"
	"github.com/tunelab/tunelab/internal/report"
	"github.com/tunelab/tunelab/internal/workspace"
)

// Rung states.
const (
	Ran     = "ran"
	Reused  = "reused"
	Skipped = "skipped"
)

// Rung is one step of the ladder and what happened to it.
type Rung struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Detail string `json:"detail"`
}

// Options control a ladder run.
type Options struct {
	ConfigPath string
	StoreDSN   string
	Threads    int
	// OutDir receives verdict.json, results.json and report.html
	// (default: the lab's ladder/ folder).
	OutDir       string
	EvalProgress eval.Progress
	TuneProgress func(finetune.Progress)
	// Log receives one line per rung and event.
	Log func(string)
}

// Result is what the ladder found.
type Result struct {
	Rungs   []Rung          `json:"rungs"`
	Summary eval.Summary    `json:"summary"`
	Verdict advisor.Verdict `json:"verdict"`
	Outcome eval.Outcome    `json:"-"`
	Job     *finetune.Job   `json:"tuning_job,omitempty"`
	// Knowledge is what the retrieval rung measured (nil when skipped).
	Knowledge *advisor.Knowledge `json:"knowledge,omitempty"`
	rag       *ragOutcome
	Files     []string `json:"-"`
	Canceled  bool     `json:"-"`
}

// Run climbs the ladder.
func Run(ctx context.Context, o Options) (*Result, error) {
	logf := func(format string, args ...any) {
		if o.Log != nil {
			o.Log(fmt.Sprintf(format, args...))
		}
	}
	w, err := workspace.Open(ctx, o.ConfigPath, workspace.Options{StoreDSN: o.StoreDSN, CheckModels: true})
	if err != nil {
		return nil, err
	}
	defer w.Close()
	res := &Result{}
	rung := func(name, status, format string, args ...any) {
		r := Rung{Name: name, Status: status, Detail: fmt.Sprintf(format, args...)}
		res.Rungs = append(res.Rungs, r)
		logf("%-20s %-8s %s", r.Name, r.Status, r.Detail)
	}

	var models []string
	for _, m := range w.Config.Models {
		models = append(models, m.Model)
	}
	rung("prompting", Ran, "%d prompt variants on %s", len(w.Config.Prompts), strings.Join(models, ", "))
	optimized, err := optimizeRung(ctx, w, rung)
	if err != nil {
		return nil, err
	}
	if optimized != nil {
		w.Config.Prompts = append(w.Config.Prompts, *optimized)
	}

	job, err := tune(ctx, w, o, rung)
	if err != nil {
		return nil, err
	}
	res.Job = job
	if job != nil {
		w.Config.Models = append(w.Config.Models, config.ModelSpec{Model: job.Model})
		rung("tuned model", Ran, "%s with each prompt variant", job.Model)
	}
	// After tuning, so the tuned model is asked the questions too.
	rag, err := ragRung(ctx, w, o, rung)
	if err != nil {
		return nil, err
	}
	if rag != nil {
		res.Knowledge, res.rag = rag.Knowledge, rag
	}

	cands := w.Candidates()
	targets, err := w.Targets(cands)
	if err != nil {
		return nil, err
	}
	scorers, primary, err := w.Scorers()
	if err != nil {
		return nil, err
	}
	specs, _ := w.ScorerSpecs()
	run := w.RunInfo(cands, specs, primary)
	logf("evaluating: run %s, %d candidates x %d test cases", run.ID, len(cands), len(w.Test))
	runner := &eval.Runner{
		// No Timeout: the config's timeout bounds each attempt inside the
		// provider; one here would cut a call's retries short.
		Store: w.Store, Scorers: scorers, Primary: primary, Concurrency: w.Config.Concurrency,
		Progress: o.EvalProgress,
	}
	outcome, err := runner.Run(ctx, run, targets, w.Test)
	res.Outcome = outcome
	if err != nil {
		return nil, err
	}
	results, err := w.Store.Results(ctx, run.ID)
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	res.Summary = eval.Summarize(run, results)
	if outcome.Canceled {
		res.Canceled = true
		return res, nil
	}

	in := advisorInput(w, res.Summary, results, job, res.Knowledge)
	res.Verdict = advisor.Decide(in)
	files, err := write(w, o, res, results, in)
	res.Files = files
	return res, err
}

// tune runs the fine-tuning rung, or says why it is skipped.
func tune(ctx context.Context, w *workspace.Workspace, o Options, rung func(name, status, format string, args ...any)) (*finetune.Job, error) {
	const name = "fine-tuning"
	s := finetune.SettingsFrom(w.Config.Tune, finetune.Settings{Dropout: -1, NameByJob: true})
	if s.Backend != "local" {
		rung(name, Skipped, "tune.backend is %s: the ladder tunes on the local engine; run `tunelab tune` for the %s backend", s.Backend, s.Backend)
		return nil, nil
	}
	ref, err := provider.ParseRef(s.Base)
	if err != nil || ref.Provider != local.Name {
		rung(name, Skipped, "tune.base %q is not a local model", s.Base)
		return nil, nil
	}
	basePath := local.Resolve(w.Config.Dir, ref.Model)
	if _, err := os.Stat(basePath); err != nil {
		rung(name, Skipped, "no base model at %s (set tune.base to a local model)", basePath)
		return nil, nil
	}
	if len(w.Train) == 0 {
		rung(name, Skipped, "the lab has no training data")
		return nil, nil
	}
	fresh := true
	job, err := finetune.TuneLab(ctx, finetune.LabRequest{
		W: w, Settings: s, Threads: o.Threads, OnProgress: o.TuneProgress,
		OnData: func(d *finetune.Prepared, spec finetune.Spec) {
			if j, err := finetune.LabJobs(w).Load(spec.ID()); err == nil && j.Status == finetune.StatusSucceeded {
				fresh = false
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("fine-tuning rung: %w", err)
	}
	status := Ran
	if !fresh {
		status = Reused
	}
	r := job.Result
	what := fmt.Sprintf("LoRA rank %d", s.Rank)
	if s.Full {
		what = "full fine-tuning"
	}
	rung(name, status, "%s on %s: %d steps in %s, best validation loss %.3f (epoch %d) -> %s",
		what, s.Base, r.Steps, r.Duration.Round(1e9), r.BestValid, r.BestEpoch, job.Model)
	return job, nil
}

// advisorInput gathers what the verdict weighs: costs per candidate
// (measured per call, dedicated hosting where the config gives it, plus
// training spread over a year for the tuned model, which inherits its
// base's hosting), which run locally and which are tuned.
func advisorInput(w *workspace.Workspace, sum eval.Summary, results []lab.CallResult, job *finetune.Job, know *advisor.Knowledge) advisor.Input {
	k := w.Config.Task.Constraints
	in := advisor.Input{
		Summary: sum, Volume: float64(w.Task.Volume),
		Constraints: advisor.Constraints{
			MinQuality: k.MinQuality, MaxLatencyMS: k.MaxLatencyMS, MonthlyBudget: k.MonthlyBudget, LocalOnly: k.LocalOnly,
			ChangeFrequency: k.ChangeFrequency, KnowledgeChanges: k.KnowledgeChanges,
		},
		Local: map[string]bool{}, Tuned: map[string]bool{},
	}
	in.Knowledge = know
	ci := advisor.CostInput{Config: w.Config, Summary: sum, Results: results, Training: map[string]float64{}, Bases: map[string]string{}}
	if job != nil {
		ci.Bases[job.Model] = job.Spec.Base
		if job.Result != nil {
			ci.Training[job.Model] = job.Result.Duration.Hours() * w.Config.Local.HourlyUSD
		}
	}
	in.Profiles, in.Hosting = advisor.CostProfiles(ci)
	for _, c := range sum.Candidates {
		ref, _ := provider.ParseRef(c.Model)
		in.Local[c.ID] = ref.Provider == local.Name
		in.Tuned[c.ID] = job != nil && c.Model == job.Model
	}
	return in
}

// write saves verdict.json, results.json and report.html atomically.
func write(w *workspace.Workspace, o Options, res *Result, results []lab.CallResult, in advisor.Input) ([]string, error) {
	dir := o.OutDir
	if dir == "" {
		dir = filepath.Join(w.Config.Dir, "ladder")
	}
	verdict := struct {
		SchemaVersion int             `json:"schema_version"`
		Task          string          `json:"task"`
		RunID         string          `json:"run_id"`
		Rungs         []Rung          `json:"rungs"`
		Verdict       advisor.Verdict `json:"verdict"`
		TuningJob     string          `json:"tuning_job,omitempty"`
		// Knowledge is the retrieval rung's measurement.
		Knowledge *advisor.Knowledge `json:"knowledge,omitempty"`
	}{1, w.Task.Name, res.Summary.RunID, res.Rungs, res.Verdict, "", res.Knowledge}
	if res.Job != nil {
		verdict.TuningJob = res.Job.ID
	}
	raw, err := json.MarshalIndent(verdict, "", "  ")
	if err != nil {
		return nil, err
	}
	vpath := filepath.Join(dir, "verdict.json")
	if err := fsutil.WriteFileAtomic(vpath, append(raw, '\n'), 0o644); err != nil {
		return nil, err
	}
	doc := report.Document{Task: w.Task, Summary: res.Summary, Cases: w.Test, Results: results,
		Verdict: &report.Verdict{Pick: res.Verdict.Pick, Basis: res.Verdict.Basis, Reasons: res.Verdict.Reasons, Changes: res.Verdict.Changes}}
	if res.rag != nil {
		doc.Knowledge = res.rag.reportSection()
	}
	var profiles []cost.Profile
	for _, c := range res.Summary.Candidates {
		profiles = append(profiles, in.Profiles[c.ID])
	}
	doc.CostChart = report.CostVolumeSVG(profiles, in.Volume)
	if j := res.Job; j != nil && j.Result != nil {
		var train, valid []report.CurvePoint
		for _, p := range j.Result.Train {
			train = append(train, report.CurvePoint{Step: float64(p.Step), Loss: p.Loss})
		}
		for _, p := range j.Result.Valid {
			valid = append(valid, report.CurvePoint{Step: float64(p.Step), Loss: p.Loss})
		}
		doc.LossCurve = report.LossCurveSVG(train, valid)
	}
	jpath, hpath := filepath.Join(dir, "results.json"), filepath.Join(dir, "report.html")
	if err := report.WriteJSON(jpath, doc); err != nil {
		return nil, err
	}
	if err := report.WriteHTML(hpath, doc); err != nil {
		return nil, err
	}
	return []string{vpath, jpath, hpath}, nil
}
