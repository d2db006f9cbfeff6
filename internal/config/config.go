// Package config reads a lab's tunelab.yaml: the task, its data, the models,
// the prompt variants, the scorers and the run settings. Every error names the
// file, the line and the field, because a config is typed by hand and a
// message without a line number sends the user hunting.
package config

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
)

// FileName is the config file a lab directory holds.
const FileName = "tunelab.yaml"

// Config is a parsed tunelab.yaml. Paths in it are relative to Dir.
type Config struct {
	// Dir is the lab directory (where the file was found); Path the file.
	Dir  string `yaml:"-"`
	Path string `yaml:"-"`

	Task        TaskSpec             `yaml:"task"`
	Data        DataSpec             `yaml:"data"`
	Knowledge   []string             `yaml:"knowledge"`
	Retrieval   RetrievalSpec        `yaml:"retrieval"`
	Models      []ModelSpec          `yaml:"models"`
	Prompts     []PromptSpec         `yaml:"prompts"`
	Scorers     []ScorerSpec         `yaml:"scorers"`
	Params      ParamsSpec           `yaml:"params"`
	Repeats     int                  `yaml:"repeats"`
	Concurrency int                  `yaml:"concurrency"`
	Timeout     time.Duration        `yaml:"timeout"`
	Retries     int                  `yaml:"retries"`
	Store       string               `yaml:"store"`
	Prices      map[string]PriceSpec `yaml:"prices"`
	Local       LocalSpec            `yaml:"local"`
	Tune        TuneSpec             `yaml:"tune"`
	Serve       ServeSpec            `yaml:"serve"`

	lines lineIndex
}

// TaskSpec is the task section.
type TaskSpec struct {
	Name        string          `yaml:"name"`
	Description string          `yaml:"description"`
	Output      string          `yaml:"output"`
	Labels      []string        `yaml:"labels"`
	Volume      int             `yaml:"volume"`
	Constraints ConstraintsSpec `yaml:"constraints"`
}

// ConstraintsSpec is the task's limits.
type ConstraintsSpec struct {
	MinQuality       float64 `yaml:"min_quality"`
	MaxLatencyMS     float64 `yaml:"max_latency_ms"`
	MonthlyBudget    float64 `yaml:"monthly_budget"`
	LocalOnly        bool    `yaml:"local_only"`
	ChangeFrequency  string  `yaml:"change_frequency"`
	KnowledgeChanges bool    `yaml:"knowledge_changes"`
}

// DataSpec says where the examples are. Either train/test (and optionally
// validation) files, or one file with ratios to split it.
type DataSpec struct {
	Train      string     `yaml:"train"`
	Validation string     `yaml:"validation"`
	Test       string     `yaml:"test"`
	File       string     `yaml:"file"`
	Format     string     `yaml:"format"`
	Split      SplitSpec  `yaml:"split"`
	Columns    ColumnSpec `yaml:"columns"`
	// Limit caps the number of test cases (0: all), for quick tries.
	Limit int `yaml:"limit"`
}

// SplitSpec gives split ratios; validation is carved from train when no
// validation file is given.
type SplitSpec struct {
	Train      float64 `yaml:"train"`
	Validation float64 `yaml:"validation"`
	Test       float64 `yaml:"test"`
	Seed       int64   `yaml:"seed"`
}

// ColumnSpec names CSV columns.
type ColumnSpec struct {
	Input    string `yaml:"input"`
	Expected string `yaml:"expected"`
	ID       string `yaml:"id"`
}

// ModelSpec is one model entry. It may be written as a bare string.
type ModelSpec struct {
	ID        string            `yaml:"id"`
	Model     string            `yaml:"model"`
	APIKeyEnv string            `yaml:"api_key_env"`
	RPM       int               `yaml:"rpm"`
	TPM       int               `yaml:"tpm"`
	Options   map[string]string `yaml:"options"`
	// Hosting, when set, says the model runs on a dedicated deployment
	// that is paid for whether or not it is called.
	Hosting *HostingSpec `yaml:"hosting"`
}

// HostingSpec is a dedicated deployment's price: what one replica costs,
// by the hour or by the month (one of the two), and how many calls a day
// one replica can serve. A price is needed unless the model is
// self-hosted (local or openai-compatible) and local.hourly_usd gives it.
type HostingSpec struct {
	HourlyUSD  float64 `yaml:"hourly_usd"`
	MonthlyUSD float64 `yaml:"monthly_usd"`
	// CallsPerDay is one replica's capacity; above it more replicas are
	// paid for. 0: measured for self-hosted models (seconds per call and
	// the local model's parallel option), unlimited for a provider's
	// deployment, which scales by its own quota.
	CallsPerDay float64 `yaml:"calls_per_day"`
}

// PromptSpec is one prompt variant.
type PromptSpec struct {
	Name           string          `yaml:"name"`
	Technique      string          `yaml:"technique"`
	System         string          `yaml:"system"`
	Instructions   string          `yaml:"instructions"`
	Template       string          `yaml:"template"`
	FewShot        *FewShotSpec    `yaml:"few_shot"`
	ChainOfThought bool            `yaml:"chain_of_thought"`
	AnswerPattern  string          `yaml:"answer_pattern"`
	JSONSchema     json.RawMessage `yaml:"-"`
	SchemaNode     yaml.Node       `yaml:"json_schema"`
	AnswerField    string          `yaml:"answer_field"`
	// Models restricts the variant to some model ids (empty: all).
	Models []string `yaml:"models"`
	// Retrieval, when on, puts knowledge chunks matching each case into
	// the prompt (`retrieval: true`, or a mapping overriding the lab's
	// retrieval settings).
	Retrieval *PromptRetrieval `yaml:"retrieval"`
}

// FewShotSpec configures demonstrations.
type FewShotSpec struct {
	K      int      `yaml:"k"`
	Select string   `yaml:"select"`
	IDs    []string `yaml:"ids"`
	Seed   int64    `yaml:"seed"`
}

// ScorerSpec is one scorer entry.
type ScorerSpec struct {
	Type       string          `yaml:"type"`
	Name       string          `yaml:"name"`
	Primary    bool            `yaml:"primary"`
	Pattern    string          `yaml:"pattern"`
	Field      string          `yaml:"field"`
	Schema     json.RawMessage `yaml:"-"`
	SchemaNode yaml.Node       `yaml:"schema"`
	Model      string          `yaml:"model"`
	Rubric     string          `yaml:"rubric"`
	Threshold  float64         `yaml:"threshold"`
}

// ParamsSpec holds sampling settings for every candidate.
type ParamsSpec struct {
	Temperature *float64 `yaml:"temperature"`
	MaxTokens   int      `yaml:"max_tokens"`
	Seed        *int64   `yaml:"seed"`
}

// PriceSpec overrides or adds a model's price in USD per million tokens.
type PriceSpec struct {
	Input  float64 `yaml:"input"`
	Output float64 `yaml:"output"`
}

// LocalSpec prices local and self-hosted inference.
type LocalSpec struct {
	// HourlyUSD is what an hour of the machine running the model costs.
	HourlyUSD float64 `yaml:"hourly_usd"`
	// Dedicated says the machine serves only these models and is paid for
	// around the clock: each self-hosted model then costs HourlyUSD every
	// hour of the month per machine, not per second of its calls.
	Dedicated bool `yaml:"dedicated"`
}

// TuneSpec is the fine-tuning section: which model to tune, where, and
// with what settings. Zero values take the defaults of `tunelab tune`.
type TuneSpec struct {
	// Base is the model to tune, e.g. local:base (the lab's models/base.gguf).
	Base string `yaml:"base"`
	// Backend is local (the built-in trainer), openai (the provider's
	// fine-tuning API) or export (a job folder for a GPU machine).
	Backend string `yaml:"backend"`
	// Prompt names the prompt variant whose messages the model learns to
	// answer (default: zero-shot), so the tuned model is served the same way.
	Prompt string `yaml:"prompt"`
	// Full trains every weight instead of a LoRA adapter (small models).
	Full    bool     `yaml:"full"`
	Rank    int      `yaml:"rank"`
	Alpha   float64  `yaml:"alpha"`
	Dropout float64  `yaml:"dropout"`
	Targets []string `yaml:"targets"`
	Epochs  int      `yaml:"epochs"`
	LR      float64  `yaml:"lr"`
	// MaxTokens drops examples longer than this (prompt and answer).
	MaxTokens int    `yaml:"max_tokens"`
	Seed      uint64 `yaml:"seed"`
}

// LabTask converts the task section to the domain type.
func (c *Config) LabTask() lab.Task {
	t := c.Task
	return lab.Task{
		Name: t.Name, Description: t.Description, Output: t.Output, Labels: t.Labels, Volume: t.Volume,
		Constraints: lab.Constraints{
			MinQuality: t.Constraints.MinQuality, MaxLatencyMS: t.Constraints.MaxLatencyMS,
			MonthlyBudget: t.Constraints.MonthlyBudget, LocalOnly: t.Constraints.LocalOnly,
			ChangeFrequency: t.Constraints.ChangeFrequency, KnowledgeChanges: t.Constraints.KnowledgeChanges,
		},
	}
}

// ModelID returns the id a model entry is known by in reports: its id, or
// for a server address the model's name alone (the URL makes report
// columns unreadable), or the written model reference.
func (m ModelSpec) ModelID() string {
	if m.ID != "" {
		return m.ID
	}
	if ref, err := provider.ParseRef(m.Model); err == nil && ref.BaseURL != "" {
		return ref.Model
	}
	return m.Model
}

// Hosting is the dedicated deployment a model runs on, as the config
// says it.
type Hosting struct {
	// HourlyUSD or MonthlyUSD is what one replica costs (one is 0).
	HourlyUSD, MonthlyUSD float64
	// CallsPerDay is one replica's capacity as the config gives it; 0
	// means measure it (self-hosted) or no limit (a provider's).
	CallsPerDay float64
	// SelfHosted says the model runs on a machine the team pays for (a
	// local model or an OpenAI-compatible server): the hosting then pays
	// for its calls, which cost nothing more.
	SelfHosted bool
	// Parallel is how many calls one replica runs at once: a local
	// model's parallel option, else 1.
	Parallel int
	// From says where the setting was found, for messages:
	// "models[1].hosting", "local.dedicated", or the base's entry for a
	// tuned model that inherits it.
	From string
}

// tunedName matches a model that `tunelab tune` registered under its
// base's file name and the job id: NAME-ft-0123456789ab.
var tunedName = regexp.MustCompile(`^(.+)-ft-[0-9a-f]{12}$`)

// HostingOf returns the dedicated deployment model runs on, if the config
// gives one: the model's own hosting entry; else, for a self-hosted tuned
// model, its base's (base is the base's reference when the caller knows
// it, e.g. from the tuning job; otherwise a local model named NAME-ft-ID
// is matched to the local model whose file is NAME); else, for any
// self-hosted model, local.dedicated. An API model tuned by a provider
// inherits nothing: OpenAI bills tuned models per token with no hosting
// fee, and a deployment that has one (Azure's) is listed with its own
// hosting entry (see internal/cost/hosting.go for the sources).
func (c *Config) HostingOf(model, base string) (Hosting, bool) {
	ref, err := provider.ParseRef(model)
	if err != nil {
		return Hosting{}, false
	}
	self := selfHosted(ref)
	own, ownIdx := c.modelEntry(model)
	h := Hosting{SelfHosted: self, Parallel: 1}
	if own != nil && ref.Provider == "local" {
		if n, err := strconv.Atoi(own.Options["parallel"]); err == nil && n > 0 {
			h.Parallel = n
		}
	}
	from := func(spec *HostingSpec, where string) (Hosting, bool) {
		h.HourlyUSD, h.MonthlyUSD, h.CallsPerDay, h.From = spec.HourlyUSD, spec.MonthlyUSD, spec.CallsPerDay, where
		if h.HourlyUSD <= 0 && h.MonthlyUSD <= 0 {
			h.HourlyUSD = c.Local.HourlyUSD // validated: set for self-hosted models
		}
		return h, true
	}
	if own != nil && own.Hosting != nil {
		return from(own.Hosting, fmt.Sprintf("models[%d].hosting", ownIdx))
	}
	if !self {
		return Hosting{}, false
	}
	if base == "" {
		base = c.localBase(ref)
	}
	if b, i := c.modelEntry(base); b != nil && b.Hosting != nil && base != model {
		return from(b.Hosting, fmt.Sprintf("models[%d].hosting, of its base %s", i, base))
	}
	if c.Local.Dedicated {
		h.HourlyUSD, h.From = c.Local.HourlyUSD, "local.dedicated"
		return h, true
	}
	return Hosting{}, false
}

func selfHosted(ref provider.Ref) bool {
	return ref.Provider == "local" || ref.Provider == "openai-compatible"
}

func (c *Config) modelEntry(model string) (*ModelSpec, int) {
	if model == "" {
		return nil, -1
	}
	for i := range c.Models {
		if c.Models[i].Model == model {
			return &c.Models[i], i
		}
	}
	return nil, -1
}

// localBase finds the configured local model that a tuned local model was
// trained from, by the name tunelab tune gave it; "" when there is none.
func (c *Config) localBase(ref provider.Ref) string {
	if ref.Provider != "local" {
		return ""
	}
	m := tunedName.FindStringSubmatch(ref.Model)
	if m == nil {
		return ""
	}
	for _, e := range c.Models {
		r, err := provider.ParseRef(e.Model)
		if err == nil && r.Provider == "local" && strings.TrimSuffix(filepath.Base(r.Model), ".gguf") == m[1] {
			return e.Model
		}
	}
	return ""
}

// Errorf builds an error pointing at the line of a field path such as
// "models[2].model" (the nearest existing parent's line when the field is
// absent).
func (c *Config) Errorf(path string, format string, args ...any) error {
	line := c.lines.lineOf(path)
	msg := fmt.Sprintf(format, args...)
	if line > 0 {
		return fmt.Errorf("%s:%d: %s: %s", c.displayPath(), line, path, msg)
	}
	return fmt.Errorf("%s: %s: %s", c.displayPath(), path, msg)
}

func (c *Config) displayPath() string {
	if c.Path == "" {
		return FileName
	}
	return c.Path
}
