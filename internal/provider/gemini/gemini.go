// Package gemini is tunelab's backend for Google's Gemini API (the
// generativelanguage API, not Vertex AI), through the official
// google.golang.org/genai SDK. It registers the "gemini" provider, which
// completes, streams and embeds.
package gemini

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"google.golang.org/genai"

	"github.com/tunelab/tunelab/internal/provider"
)

const name = "gemini"

func init() {
	provider.Register(name, func(cfg provider.Config) (provider.Provider, error) { return New(cfg) })
}

// DefaultTimeout bounds one call when the config names none.
const DefaultTimeout = 10 * time.Minute

// Provider talks to the Gemini API.
type Provider struct {
	client  *genai.Client
	key     string // kept only to scrub it from errors
	timeout time.Duration
}

var (
	_ provider.StreamProvider = (*Provider)(nil)
	_ provider.Embedder       = (*Provider)(nil)
)

// New builds the provider. The key is Config.APIKey, else the variable
// named by the api_key_env option, else GOOGLE_API_KEY, else
// GEMINI_API_KEY (the SDK's order, which its warning when both are set
// describes). Ref.BaseURL, when set, replaces Google's address.
func New(cfg provider.Config) (*Provider, error) {
	envs := []string{"GOOGLE_API_KEY", "GEMINI_API_KEY"}
	if env := cfg.Options["api_key_env"]; env != "" {
		envs = []string{env}
	}
	key := cfg.Key(envs...)
	if key == "" {
		if len(envs) == 1 {
			return nil, fmt.Errorf("gemini: no API key: set %s (named by api_key_env in tunelab.yaml)", envs[0])
		}
		return nil, errors.New("gemini: no API key: set GEMINI_API_KEY or GOOGLE_API_KEY (or api_key_env in tunelab.yaml)")
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	cc := &genai.ClientConfig{
		APIKey: key,
		// Named, so that GOOGLE_GENAI_USE_VERTEXAI in the environment
		// cannot switch the client to another API and another auth.
		Backend:    genai.BackendGeminiAPI,
		HTTPClient: cfg.HTTPClient,
		HTTPOptions: genai.HTTPOptions{
			BaseURL: cfg.Ref.BaseURL,
			// One attempt: tunelab's retry middleware retries, visibly
			// and counted.
			RetryOptions: &genai.HTTPRetryOptions{Attempts: genai.Ptr[int32](1)},
		},
	}
	client, err := genai.NewClient(context.Background(), cc)
	if err != nil {
		// The SDK prints its whole config, key included, into some errors.
		return nil, provider.Redact(fmt.Errorf("gemini: create client: %w", err), key)
	}
	return &Provider{client: client, key: key, timeout: timeout}, nil
}

// Name is "gemini".
func (p *Provider) Name() string { return name }

// Complete runs one generateContent call.
func (p *Provider) Complete(ctx context.Context, req provider.Request) (*provider.Response, error) {
	contents, config, err := p.request(req)
	if err != nil {
		return nil, err
	}
	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	start := time.Now()
	res, err := p.client.Models.GenerateContent(callCtx, req.Model, contents, config)
	latency := time.Since(start)
	if err != nil {
		return nil, p.fail(ctx, err)
	}
	var acc answer
	if err := acc.add(res); err != nil {
		return nil, p.fail(ctx, err)
	}
	out, err := acc.response(req.Model)
	if err != nil {
		return nil, p.fail(ctx, err)
	}
	out.Latency = latency
	return out, nil
}

// request builds the call: system turns become the systemInstruction, the
// others contents with roles user and model, and the rest the generation
// config.
func (p *Provider) request(req provider.Request) ([]*genai.Content, *genai.GenerateContentConfig, error) {
	config := &genai.GenerateContentConfig{
		// One request per call, so that latency and usage describe one
		// answer; a cut-off answer is reported as "length".
		AutomaticContinuation: genai.Ptr(false),
	}
	var system []*genai.Part
	var contents []*genai.Content
	for i, m := range req.Messages {
		part := &genai.Part{Text: m.Content}
		switch m.Role {
		case "system":
			system = append(system, part)
		case "user":
			contents = append(contents, &genai.Content{Role: genai.RoleUser, Parts: []*genai.Part{part}})
		case "assistant":
			contents = append(contents, &genai.Content{Role: genai.RoleModel, Parts: []*genai.Part{part}})
		default:
			return nil, nil, p.invalid("message %d has role %q: want system, user or assistant", i+1, m.Role)
		}
	}
	if len(system) > 0 {
		config.SystemInstruction = &genai.Content{Parts: system}
	}
	if req.Temperature != nil {
		config.Temperature = genai.Ptr(float32(*req.Temperature))
	}
	if req.TopP != nil {
		config.TopP = genai.Ptr(float32(*req.TopP))
	}
	if req.Seed != nil {
		if *req.Seed < math.MinInt32 || *req.Seed > math.MaxInt32 {
			return nil, nil, p.invalid("seed %d does not fit the API's 32-bit seed: use a smaller one", *req.Seed)
		}
		config.Seed = genai.Ptr(int32(*req.Seed))
	}
	if req.MaxTokens > 0 {
		config.MaxOutputTokens = int32(min(req.MaxTokens, math.MaxInt32))
	}
	config.StopSequences = req.Stop
	if len(req.JSONSchema) > 0 {
		var schema map[string]any
		if err := json.Unmarshal(req.JSONSchema, &schema); err != nil {
			return nil, nil, p.invalid("the JSON schema is not a JSON object: %v", err)
		}
		config.ResponseMIMEType = "application/json"
		config.ResponseJsonSchema = schema
	}
	return contents, config, nil
}

func (p *Provider) invalid(format string, args ...any) error {
	return &provider.Error{Provider: name, Message: fmt.Sprintf(format, args...)}
}

// answer gathers one answer from one response or from a stream's chunks.
type answer struct {
	text    strings.Builder
	finish  genai.FinishReason
	usage   *genai.GenerateContentResponseUsageMetadata
	model   string
	blocked string // why the prompt was refused, when it was
	seen    bool   // a candidate or a block arrived
}

// add takes in one response and returns the new text, skipping the model's
// thought parts.
func (a *answer) add(res *genai.GenerateContentResponse) error {
	if res == nil {
		return errors.New("the answer is empty")
	}
	if res.UsageMetadata != nil {
		a.usage = res.UsageMetadata // streams repeat running totals; the last is the whole
	}
	if res.ModelVersion != "" {
		a.model = res.ModelVersion
	}
	if f := res.PromptFeedback; f != nil && f.BlockReason != "" {
		a.blocked, a.seen = string(f.BlockReason), true
	}
	if len(res.Candidates) == 0 {
		return nil
	}
	a.seen = true
	c := res.Candidates[0]
	if c.FinishReason != "" {
		a.finish = c.FinishReason
	}
	if c.Content != nil {
		for _, part := range c.Content.Parts {
			if part != nil && !part.Thought {
				a.text.WriteString(part.Text)
			}
		}
	}
	return nil
}

func (a *answer) response(model string) (*provider.Response, error) {
	if !a.seen {
		return nil, errors.New("the answer has no candidates")
	}
	out := &provider.Response{Text: a.text.String(), Model: a.model, FinishReason: finishReason(a.finish)}
	if out.Model == "" {
		out.Model = model
	}
	if a.blocked != "" {
		// A refused prompt is an answer, and a wrong one, not a failure:
		// retrying would be refused the same way.
		out.FinishReason = "content_filter"
	}
	if u := a.usage; u != nil {
		out.Usage = provider.Usage{
			InputTokens: int(u.PromptTokenCount + u.ToolUsePromptTokenCount),
			// Thinking is billed as output.
			OutputTokens: int(u.CandidatesTokenCount + u.ThoughtsTokenCount),
		}
	}
	return out, nil
}

// finishReason maps Gemini's reasons to the OpenAI vocabulary the rest of
// tunelab reads; reasons without a match pass on in lower case.
func finishReason(r genai.FinishReason) string {
	switch r {
	case genai.FinishReasonStop:
		return "stop"
	case genai.FinishReasonMaxTokens:
		return "length"
	case genai.FinishReasonSafety, genai.FinishReasonRecitation, genai.FinishReasonBlocklist,
		genai.FinishReasonProhibitedContent, genai.FinishReasonSPII, genai.FinishReasonImageSafety:
		return "content_filter"
	case "", genai.FinishReasonUnspecified:
		return ""
	}
	return strings.ToLower(string(r))
}

// fail turns what the SDK returned into a *provider.Error with the key
// scrubbed. Gemini puts the wait it wants in a RetryInfo detail of the
// error body rather than in a header.
func (p *Provider) fail(caller context.Context, err error) error {
	var pe *provider.Error
	var ae genai.APIError
	if errors.As(err, &ae) && caller.Err() == nil {
		pe = provider.HTTPFailure(name, ae.Code, nil, []byte(ae.Message))
		pe.RetryAfter = retryDelay(ae.Details)
		pe.Err = err
	} else {
		pe = provider.CallFailure(name, caller, err)
	}
	return provider.Redact(pe, p.key)
}

func retryDelay(details []map[string]any) time.Duration {
	for _, d := range details {
		if t, _ := d["@type"].(string); !strings.HasSuffix(t, "google.rpc.RetryInfo") {
			continue
		}
		if s, ok := d["retryDelay"].(string); ok {
			if v, err := time.ParseDuration(s); err == nil && v > 0 {
				return v
			}
		}
	}
	return 0
}
