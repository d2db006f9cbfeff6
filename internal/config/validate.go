package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/tunelab/tunelab/internal/dataset"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
)

// Defaults for settings the user leaves out.
const (
	DefaultConcurrency = 4
	DefaultTimeout     = 120 * time.Second
	DefaultRetries     = 5
	DefaultStore       = ".tunelab/tunelab.db"
	DefaultMaxTokens   = 256
)

// normalize fills defaults and checks values, naming the line of each bad one.
func (c *Config) normalize() error {
	t := &c.Task
	if t.Output == "" {
		if len(t.Labels) > 0 {
			t.Output = lab.OutputLabel
		} else {
			t.Output = lab.OutputText
		}
	}
	if !slices.Contains([]string{lab.OutputLabel, lab.OutputText, lab.OutputJSON}, t.Output) {
		return c.Errorf("task.output", "%q is not an output format: use label, text or json", t.Output)
	}
	if t.Output == lab.OutputLabel && len(t.Labels) == 0 {
		return c.Errorf("task.labels", "a label task needs its labels: list them under task.labels")
	}
	if dup := firstDup(t.Labels); dup != "" {
		return c.Errorf("task.labels", "label %q is listed twice", dup)
	}
	for i, l := range t.Labels {
		if strings.TrimSpace(l) == "" {
			return c.Errorf(fmt.Sprintf("task.labels[%d]", i), "an empty label: no answer could be scored as it; remove it or name it")
		}
	}
	if t.Volume < 0 {
		return c.Errorf("task.volume", "must be calls per day, 0 or more")
	}
	if q := t.Constraints.MinQuality; q < 0 || q > 1 {
		return c.Errorf("task.constraints.min_quality", "must be between 0 and 1 (a share of the primary score), got %v", q)
	}
	if t.Constraints.MaxLatencyMS < 0 {
		return c.Errorf("task.constraints.max_latency_ms", "must be 0 (no limit) or a positive number of milliseconds")
	}
	if t.Constraints.MonthlyBudget < 0 {
		return c.Errorf("task.constraints.monthly_budget", "must be 0 (no limit) or a positive amount in USD")
	}

	d := &c.Data
	if d.File == "" && d.Test == "" {
		return c.Errorf("data", "no test data: give data.test (and data.train), or data.file with data.split ratios")
	}
	if d.File != "" && (d.Train != "" || d.Test != "") {
		return c.Errorf("data.file", "give either data.file (split by ratios) or data.train/data.test files, not both")
	}
	if d.File != "" {
		s := &d.Split
		if s.Train == 0 && s.Validation == 0 && s.Test == 0 {
			s.Train, s.Validation, s.Test = 0.7, 0.1, 0.2
		}
		if sum := s.Train + s.Validation + s.Test; sum < 0.999 || sum > 1.001 || s.Train < 0 || s.Validation < 0 || s.Test <= 0 {
			return c.Errorf("data.split", "ratios must be non-negative, test above 0, and add up to 1 (got %.3g)", sum)
		}
	}
	if d.Limit < 0 {
		return c.Errorf("data.limit", "must be 0 (all) or a positive number of test cases")
	}
	if d.Format != "" {
		// Checked here, not first when the files are read, so the error
		// points at this line rather than at a data file.
		if _, err := dataset.FormatName(d.Format); err != nil {
			return c.Errorf("data.format", "%v", err)
		}
	}

	if len(c.Models) == 0 {
		return c.Errorf("models", "no models: add at least one, e.g. `- local:models/base.gguf` or `- openai:gpt-4o-mini`")
	}
	seen := map[string]bool{}
	for i := range c.Models {
		m := &c.Models[i]
		path := fmt.Sprintf("models[%d]", i)
		if m.Model == "" {
			return c.Errorf(path, "missing model: write PROVIDER:MODEL")
		}
		if _, err := provider.ParseRef(m.Model); err != nil {
			return c.Errorf(path, "%v", err)
		}
		if seen[m.ModelID()] {
			return c.Errorf(path, "model %q is listed twice: give one an id", m.ModelID())
		}
		seen[m.ModelID()] = true
		if m.RPM < 0 || m.TPM < 0 {
			return c.Errorf(path, "rpm and tpm must be 0 (no limit) or positive")
		}
		if err := c.validateHosting(m, path+".hosting"); err != nil {
			return err
		}
	}

	if len(c.Prompts) == 0 {
		c.Prompts = []PromptSpec{{Name: lab.TechZeroShot, Technique: lab.TechZeroShot}}
	}
	names := map[string]bool{}
	for i := range c.Prompts {
		p := &c.Prompts[i]
		path := fmt.Sprintf("prompts[%d]", i)
		if p.Name == "" {
			p.Name = p.Technique
		}
		if p.Name == "" {
			return c.Errorf(path, "a prompt needs a name (or a technique, which names it)")
		}
		if names[p.Name] {
			return c.Errorf(path+".name", "prompt %q is defined twice", p.Name)
		}
		names[p.Name] = true
		if p.Technique != "" && !slices.Contains(lab.Techniques, p.Technique) {
			return c.Errorf(path+".technique", "unknown technique %q; known: %s", p.Technique, strings.Join(lab.Techniques, ", "))
		}
		if fs := p.FewShot; fs != nil {
			if fs.Select == "" {
				fs.Select = lab.SelectNearest
			}
			if !slices.Contains([]string{lab.SelectFixed, lab.SelectRandom, lab.SelectNearest}, fs.Select) {
				return c.Errorf(path+".few_shot.select", "unknown selection %q: use fixed, random or nearest", fs.Select)
			}
			if fs.K <= 0 && len(fs.IDs) == 0 {
				return c.Errorf(path+".few_shot.k", "k must be at least 1")
			}
		}
		if p.AnswerPattern != "" {
			if _, err := compileAnswerPattern(p.AnswerPattern); err != nil {
				return c.Errorf(path+".answer_pattern", "%v", err)
			}
		}
		for _, id := range p.Models {
			if !seen[id] {
				return c.Errorf(path+".models", "no model with id %q", id)
			}
		}
	}

	if len(c.Scorers) == 0 {
		typ := "normalized"
		if t.Output == lab.OutputLabel {
			typ = "label"
		}
		c.Scorers = []ScorerSpec{{Type: typ, Primary: true}}
	}
	primaries := 0
	snames := map[string]bool{}
	for i := range c.Scorers {
		s := &c.Scorers[i]
		path := fmt.Sprintf("scorers[%d]", i)
		if !slices.Contains(lab.ScorerTypes, s.Type) {
			return c.Errorf(path+".type", "unknown scorer %q; known: %s", s.Type, strings.Join(lab.ScorerTypes, ", "))
		}
		if s.Name == "" {
			s.Name = s.Type
		}
		if snames[s.Name] {
			return c.Errorf(path, "two scorers are named %q: give one a name", s.Name)
		}
		snames[s.Name] = true
		if s.Primary {
			primaries++
		}
		if s.Threshold < 0 || s.Threshold > 1 {
			return c.Errorf(path+".threshold", "must be between 0 and 1")
		}
	}
	if primaries > 1 {
		return c.Errorf("scorers", "only one scorer may be primary (it decides pass/fail and accuracy)")
	}
	if primaries == 0 {
		c.Scorers[0].Primary = true
	}

	if c.Repeats == 0 {
		c.Repeats = 1
	}
	if c.Repeats < 1 || c.Repeats > 100 {
		return c.Errorf("repeats", "must be between 1 and 100")
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Concurrency < 1 || c.Concurrency > 512 {
		return c.Errorf("concurrency", "must be between 1 and 512")
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Timeout < 0 {
		return c.Errorf("timeout", "must be positive, e.g. 60s")
	}
	if c.Retries == 0 {
		c.Retries = DefaultRetries
	}
	if c.Retries < 1 {
		return c.Errorf("retries", "must be at least 1 (attempts per call)")
	}
	if c.Store == "" {
		c.Store = DefaultStore
	}
	if c.Params.MaxTokens == 0 {
		c.Params.MaxTokens = DefaultMaxTokens
	}
	if c.Params.MaxTokens < 0 {
		return c.Errorf("params.max_tokens", "must be positive")
	}
	if tp := c.Params.Temperature; tp != nil && (*tp < 0 || *tp > 2) {
		return c.Errorf("params.temperature", "must be between 0 and 2")
	}
	for name, p := range c.Prices {
		if p.Input < 0 || p.Output < 0 {
			return c.Errorf("prices."+name, "prices must not be negative")
		}
	}
	if c.Local.HourlyUSD < 0 {
		return c.Errorf("local.hourly_usd", "must not be negative")
	}
	if c.Local.Dedicated && c.Local.HourlyUSD <= 0 {
		return c.Errorf("local.dedicated", "a dedicated machine is paid for by the hour: set local.hourly_usd to what an hour of it costs")
	}
	if err := c.validateRetrieval(); err != nil {
		return err
	}
	if err := c.validateServe(); err != nil {
		return err
	}
	return c.validateTune()
}

// validateHosting checks a model's dedicated deployment. Its price is
// never guessed: a provider's must be given, a self-hosted model's may
// come from local.hourly_usd.
func (c *Config) validateHosting(m *ModelSpec, path string) error {
	h := m.Hosting
	if h == nil {
		return nil
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"hourly_usd", h.HourlyUSD}, {"monthly_usd", h.MonthlyUSD}, {"calls_per_day", h.CallsPerDay}} {
		if f.v < 0 {
			return c.Errorf(path+"."+f.name, "must not be negative")
		}
	}
	if h.HourlyUSD > 0 && h.MonthlyUSD > 0 {
		return c.Errorf(path, "give hourly_usd or monthly_usd, not both: they price the same replica")
	}
	if h.HourlyUSD > 0 || h.MonthlyUSD > 0 {
		return nil
	}
	ref, _ := provider.ParseRef(m.Model) // checked before
	if !selfHosted(ref) {
		return c.Errorf(path, "no price: set hourly_usd (or monthly_usd) to what one deployment of %s costs; tunelab knows no hosting prices", m.Model)
	}
	if c.Local.HourlyUSD <= 0 {
		return c.Errorf(path, "no price: set hourly_usd here, or local.hourly_usd to what an hour of the machine costs")
	}
	return nil
}

var tuneTargets = []string{"q", "k", "v", "o", "gate", "up", "down"}

func (c *Config) validateTune() error {
	t := &c.Tune
	if t.Base != "" {
		if _, err := provider.ParseRef(t.Base); err != nil {
			return c.Errorf("tune.base", "%v", err)
		}
	}
	switch t.Backend {
	case "", "local", "openai", "export":
	default:
		return c.Errorf("tune.backend", "%q is not a backend; use local, openai or export", t.Backend)
	}
	if t.Rank < 0 || t.Rank > 1024 {
		return c.Errorf("tune.rank", "must be between 1 and 1024")
	}
	if t.Alpha < 0 {
		return c.Errorf("tune.alpha", "must not be negative")
	}
	if t.Dropout < 0 || t.Dropout >= 1 {
		return c.Errorf("tune.dropout", "must be at least 0 and below 1")
	}
	for _, tg := range t.Targets {
		ok := false
		for _, v := range tuneTargets {
			ok = ok || v == tg
		}
		if !ok {
			return c.Errorf("tune.targets", "%q is not a target; use some of q, k, v, o, gate, up, down", tg)
		}
	}
	if t.Epochs < 0 || t.LR < 0 || t.MaxTokens < 0 {
		return c.Errorf("tune", "epochs, lr and max_tokens must not be negative")
	}
	return nil
}

func firstDup(xs []string) string {
	seen := map[string]bool{}
	for _, x := range xs {
		if seen[x] {
			return x
		}
		seen[x] = true
	}
	return ""
}
