package finetune

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/engine"
	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/provider/local"
	"github.com/tunelab/tunelab/internal/workspace"
)

// Settings are a lab's tuning settings after the command line and the
// defaults have been applied.
type Settings struct {
	Base, Backend, Prompt, Name string
	// Full trains every weight; Rank, Alpha, Dropout and Targets are then
	// unused.
	Full               bool
	Rank               int
	Alpha, Dropout, LR float64
	Targets            []string
	Epochs, MaxTokens  int
	Seed               uint64
	// NameByJob names the result after the job (BASE-ft-ID), so the
	// results of different tunings sit side by side and a report says
	// which job each tuned model came from.
	NameByJob bool
}

// SettingsFrom fills what over leaves unset (zero, or Dropout below 0)
// from the lab's tune: section, then the defaults.
func SettingsFrom(t config.TuneSpec, over Settings) Settings {
	s := over
	str := func(v *string, cfg, def string) {
		if *v == "" {
			*v = cfg
		}
		if *v == "" {
			*v = def
		}
	}
	str(&s.Base, t.Base, "local:base")
	str(&s.Backend, t.Backend, "local")
	str(&s.Prompt, t.Prompt, lab.TechZeroShot)
	num := func(v *int, cfg, def int) {
		if *v <= 0 {
			*v = cfg
		}
		if *v <= 0 {
			*v = def
		}
	}
	num(&s.Rank, t.Rank, 16)
	num(&s.Epochs, t.Epochs, 4)
	num(&s.MaxTokens, t.MaxTokens, 512)
	flt := func(v *float64, cfg, def float64) {
		if *v <= 0 {
			*v = cfg
		}
		if *v <= 0 {
			*v = def
		}
	}
	flt(&s.Alpha, t.Alpha, 2*float64(s.Rank))
	flt(&s.LR, t.LR, 1e-3)
	if s.Dropout < 0 {
		s.Dropout = t.Dropout
		if t.Dropout == 0 {
			s.Dropout = 0.05
		}
	}
	if len(s.Targets) == 0 {
		s.Targets = t.Targets
	}
	if len(s.Targets) == 0 {
		s.Targets = engine.LoRATargets
	}
	s.Full = s.Full || t.Full
	if s.Seed == 0 {
		s.Seed = t.Seed
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	return s
}

// JobsIn is where the lab in dir keeps its tuning jobs.
func JobsIn(dir string) Jobs { return Jobs{Dir: filepath.Join(dir, ".tunelab", "jobs")} }

// LabJobs is where a lab keeps its tuning jobs.
func LabJobs(w *workspace.Workspace) Jobs { return JobsIn(w.Config.Dir) }

// Builder renders the prompt variant a tuned model learns to answer.
func Builder(w *workspace.Workspace, promptName string) (*prompt.Builder, error) {
	v, ok := w.Variant(promptName)
	if !ok {
		if promptName != lab.TechZeroShot {
			return nil, fmt.Errorf("tune.prompt %q: no prompt variant of that name in %s", promptName, w.Config.Path)
		}
		v = lab.Variant{Name: lab.TechZeroShot, Technique: lab.TechZeroShot}
	}
	v = prompt.Expand(v, w.Task)
	if v.FewShot != nil {
		return nil, fmt.Errorf("tune.prompt %q is a few-shot prompt; tune on a prompt without demonstrations (zero-shot, instructions or role)", promptName)
	}
	return prompt.NewBuilder(w.Task, v, w.Train)
}

// LabRequest is a local tuning job on a lab's train split.
type LabRequest struct {
	W          *workspace.Workspace
	Settings   Settings // already through SettingsFrom
	Threads    int
	OnData     func(*Prepared, Spec)
	OnProgress func(Progress)
	OnLog      func(string)
}

// Plan is a local tuning job of a lab, ready to run: what it trains, on
// which data, and where its files go.
type Plan struct {
	Spec      Spec
	Data      *Prepared
	BasePath  string
	ModelsDir string
	Jobs      Jobs
}

// PlanLab prepares the lab's data for the local job the settings describe.
// Two labs with the same data, base model file and settings plan the same
// job id, which is how a worker checks it may train a queued job.
func PlanLab(w *workspace.Workspace, s Settings) (*Plan, error) {
	ref, err := provider.ParseRef(s.Base)
	if err != nil {
		return nil, fmt.Errorf("tune base %s: %w", s.Base, err)
	}
	if ref.Provider != local.Name {
		return nil, fmt.Errorf("tune base %s: the local backend tunes local models (local:NAME or local:PATH.gguf); use --backend openai for OpenAI models", s.Base)
	}
	builder, err := Builder(w, s.Prompt)
	if err != nil {
		return nil, err
	}
	basePath := local.Resolve(w.Config.Dir, ref.Model)
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(basePath), ".gguf") + "-tuned"
	}
	m, err := engine.Load(basePath, engine.Options{ContextSize: 64, Threads: 1})
	if err != nil {
		return nil, fmt.Errorf("base model %s: %w", s.Base, err)
	}
	data, err := Prepare(m, builder, w.Train, w.Val, s.MaxTokens)
	m.Close()
	if err != nil {
		return nil, err
	}
	baseHash, err := fsutil.Fingerprint(basePath)
	if err != nil {
		return nil, fmt.Errorf("base model %s: %w", s.Base, err)
	}
	rowLen := 256
	for rowLen < data.LongestExample {
		rowLen *= 2
	}
	spec := Spec{
		Backend: "local", Base: s.Base, BaseHash: baseHash, Name: s.Name, Prompt: s.Prompt, DataHash: data.Hash,
		LoRA: engine.TrainOptions{Rank: s.Rank, Alpha: float32(s.Alpha), Targets: s.Targets},
		Train: Config{
			Epochs: s.Epochs, LR: s.LR, WarmupSteps: 10, MinLRRatio: 0.1, Rows: 4, RowLen: rowLen, Accum: 1,
			ClipNorm: 1, Dropout: s.Dropout, Patience: 2, Seed: s.Seed, CheckpointEvery: 20,
		},
	}
	if s.Full {
		spec.LoRA = engine.TrainOptions{Full: true}
		spec.Train.Dropout = 0 // dropout applies to adapter inputs only
	}
	if s.NameByJob {
		spec.Name = strings.TrimSuffix(filepath.Base(basePath), ".gguf") + "-" + spec.ID()
	}
	return &Plan{Spec: spec, Data: data, BasePath: basePath, ModelsDir: filepath.Join(w.Config.Dir, local.ModelsDir), Jobs: LabJobs(w)}, nil
}

// Request is the local request that runs the plan.
func (p *Plan) Request(threads int) LocalRequest {
	return LocalRequest{Jobs: p.Jobs, BasePath: p.BasePath, ModelsDir: p.ModelsDir, Spec: p.Spec, Data: p.Data, Threads: threads}
}

// TuneLab prepares the lab's data and runs (or resumes, or reuses) the
// local LoRA job the settings describe.
func TuneLab(ctx context.Context, req LabRequest) (*Job, error) {
	p, err := PlanLab(req.W, req.Settings)
	if err != nil {
		return nil, err
	}
	if req.OnData != nil {
		req.OnData(p.Data, p.Spec)
	}
	r := p.Request(req.Threads)
	r.OnProgress, r.OnLog = req.OnProgress, req.OnLog
	return RunLocal(ctx, r)
}
