// Package local is tunelab's in-process backend: it runs GGUF models on
// this machine through the engine package (llama.cpp), so a lab can
// compare hosted models with a small local one, or with a base model and
// its LoRA-tuned variant, without any server. It registers the provider
// "local"; models are written local:PATH.gguf, PATH relative to the lab.
package local

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tunelab/tunelab/internal/engine"
	"github.com/tunelab/tunelab/internal/provider"
)

// Name is the provider's registry name.
const Name = "local"

func init() {
	provider.Register(Name, func(cfg provider.Config) (provider.Provider, error) { return New(cfg) })
}

// Options a model entry in tunelab.yaml may set for a local model.
var knownOptions = map[string]string{
	"threads":       "decoding threads (default: one per CPU)",
	"ctx":           "context window in tokens (default: the model's, at most 4096)",
	"batch":         "prompt tokens decoded per step (default 512)",
	"parallel":      "requests run at once, each with its own context (default 1)",
	"adapter":       "path of a LoRA adapter in GGUF form to apply",
	"adapter_scale": "strength of the adapter (default 1)",
	"max_tokens":    "output limit when a request sets none (default 256)",
	"api_key_env":   "ignored: local models need no key",
}

// Provider runs one local model, optionally with a LoRA adapter.
type Provider struct {
	ref       string
	path      string
	model     *engine.Model
	adapter   *engine.Adapter
	scale     float32
	maxTokens int
	timeout   time.Duration
	release   func()
}

var (
	_ provider.StreamProvider = (*Provider)(nil)
	_ provider.Embedder       = (*Provider)(nil)
)

// New loads (or reuses, when another provider already loaded it with the
// same settings) the model that cfg names.
func New(cfg provider.Config) (*Provider, error) {
	if cfg.Ref.Model == "" {
		return nil, errors.New("local: no model path: write the model as local:PATH.gguf")
	}
	opts, err := parseOptions(cfg.Options)
	if err != nil {
		return nil, err
	}
	path := Resolve(cfg.Dir, cfg.Ref.Model)
	adapterPath := ""
	if a := cfg.Options["adapter"]; a != "" {
		adapterPath = Resolve(cfg.Dir, a)
	}
	m, ad, release, err := shared.acquire(path, opts.engine, adapterPath)
	if err != nil {
		return nil, fmt.Errorf("local: %w", err)
	}
	return &Provider{
		ref: cfg.Ref.Model, path: path, model: m, adapter: ad, scale: opts.scale,
		maxTokens: opts.maxTokens, timeout: cfg.Timeout, release: release,
	}, nil
}

// ModelsDir is the lab folder where named local models live: local:NAME
// means models/NAME.gguf, which is where tuned and imported models are put.
const ModelsDir = "models"

// Resolve is the model file a local model name or path means in the lab at
// dir.
func Resolve(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return filepath.Clean(p)
	}
	// A bare name with no extension and no folder names a lab model.
	if filepath.Ext(p) == "" && !strings.ContainsAny(p, `/\`) {
		return filepath.Join(dir, ModelsDir, p+".gguf")
	}
	return filepath.Join(dir, p)
}

type options struct {
	engine    engine.Options
	scale     float32
	maxTokens int
}

func parseOptions(in map[string]string) (options, error) {
	o := options{scale: 1, maxTokens: engine.DefaultMaxTokens}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := in[k]
		if _, ok := knownOptions[k]; !ok {
			return o, fmt.Errorf("local: unknown option %q (known: %s)", k, strings.Join(optionNames(), ", "))
		}
		var err error
		switch k {
		case "threads":
			o.engine.Threads, err = positive(k, v)
		case "ctx":
			o.engine.ContextSize, err = positive(k, v)
		case "batch":
			o.engine.BatchSize, err = positive(k, v)
		case "parallel":
			o.engine.Parallel, err = positive(k, v)
		case "max_tokens":
			o.maxTokens, err = positive(k, v)
		case "adapter_scale":
			f, perr := strconv.ParseFloat(v, 32)
			if perr != nil || f < 0 {
				err = fmt.Errorf("local: option adapter_scale=%q: want a number of 0 or more, e.g. 1 or 0.5", v)
			}
			o.scale = float32(f)
		}
		if err != nil {
			return o, err
		}
	}
	if _, ok := in["adapter_scale"]; ok && in["adapter"] == "" {
		return o, errors.New("local: option adapter_scale is set but adapter is not")
	}
	return o, nil
}

func positive(key, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("local: option %s=%q: want a whole number above 0 (%s)", key, v, knownOptions[key])
	}
	return n, nil
}

func optionNames() []string {
	out := make([]string, 0, len(knownOptions))
	for k := range knownOptions {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Name is "local".
func (p *Provider) Name() string { return Name }

// Info describes the loaded model.
func (p *Provider) Info() engine.Info { return p.model.Info() }

// Close releases this provider's hold on the shared model; the last one
// to let go frees it. Providers used for the whole run need not call it.
func (p *Provider) Close() error {
	if p.release != nil {
		p.release()
		p.release = nil
	}
	return nil
}

// Complete runs one chat completion.
func (p *Provider) Complete(ctx context.Context, req provider.Request) (*provider.Response, error) {
	return p.run(ctx, req, nil)
}

// Stream is Complete with the text passed to onDelta as it is generated.
func (p *Provider) Stream(ctx context.Context, req provider.Request, onDelta func(string)) (*provider.Response, error) {
	if onDelta == nil {
		onDelta = func(string) {}
	}
	return p.run(ctx, req, onDelta)
}

func (p *Provider) run(ctx context.Context, req provider.Request, onText func(string)) (*provider.Response, error) {
	if req.Model != "" && req.Model != p.ref {
		return nil, p.fail(fmt.Errorf("request for model %q sent to the provider of %q", req.Model, p.ref))
	}
	opts, err := p.generateOptions(req)
	if err != nil {
		return nil, p.fail(err)
	}
	msgs := make([]engine.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = engine.Message{Role: m.Role, Content: m.Content}
	}
	if p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	res, err := p.model.Chat(ctx, msgs, opts, onText)
	if err != nil {
		return nil, p.fail(err)
	}
	return &provider.Response{
		Text:         res.Text,
		Usage:        provider.Usage{InputTokens: res.PromptTokens, OutputTokens: res.OutputTokens},
		Model:        p.ref,
		FinishReason: res.FinishReason,
		// The model's own time, without the wait for a free context: with
		// more callers than contexts the wait measures the caller's
		// concurrency, not the candidate's speed.
		Latency: res.PromptDuration + res.GenerateDuration,
	}, nil
}

func (p *Provider) generateOptions(req provider.Request) (engine.GenerateOptions, error) {
	o := engine.GenerateOptions{MaxTokens: req.MaxTokens, Stop: req.Stop}
	if o.MaxTokens <= 0 {
		o.MaxTokens = p.maxTokens
	}
	if req.Temperature != nil {
		if *req.Temperature < 0 {
			return o, fmt.Errorf("temperature %g: want 0 or more", *req.Temperature)
		}
		o.Temperature = *req.Temperature
	}
	if req.TopP != nil {
		o.TopP = *req.TopP
	}
	switch {
	case req.Seed != nil:
		o.Seed = uint32(*req.Seed)
	case o.Temperature > 0:
		// No seed asked for: each call draws afresh, as hosted APIs do.
		o.Seed = rand.Uint32()
	}
	if len(req.JSONSchema) > 0 {
		g, err := engine.GrammarFromJSONSchema(req.JSONSchema)
		if err != nil {
			return o, err
		}
		o.Grammar = g
	}
	if p.adapter != nil {
		o.Adapters = []engine.AdapterUse{{Adapter: p.adapter, Scale: p.scale}}
	}
	return o, nil
}

// Embed returns one unit-length embedding per input: the mean of the
// model's hidden states over the input's tokens.
func (p *Provider) Embed(ctx context.Context, model string, inputs []string) ([][]float32, provider.Usage, error) {
	var usage provider.Usage
	if model != "" && model != p.ref {
		return nil, usage, p.fail(fmt.Errorf("embeddings for model %q asked of the provider of %q", model, p.ref))
	}
	if p.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.timeout)
		defer cancel()
	}
	out := make([][]float32, len(inputs))
	for i, in := range inputs {
		v, n, err := p.model.Embed(ctx, in)
		if err != nil {
			return nil, usage, p.fail(fmt.Errorf("input %d: %w", i, err))
		}
		out[i] = v
		usage.InputTokens += n
	}
	return out, usage, nil
}

// fail wraps err as the provider error the runner expects. Nothing a local
// model does wrong is cured by asking again, so none is retryable.
func (p *Provider) fail(err error) error {
	return &provider.Error{Provider: Name, Message: p.ref + ": " + err.Error(), Err: err}
}
