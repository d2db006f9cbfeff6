// Package anthropic is tunelab's backend for Anthropic's Messages API,
// through the official anthropic-sdk-go SDK. It registers the "anthropic"
// provider. The API has no embeddings, so the provider is no Embedder.
package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"

	"github.com/tunelab/tunelab/internal/provider"
)

const name = "anthropic"

func init() {
	provider.Register(name, func(cfg provider.Config) (provider.Provider, error) { return New(cfg) })
}

// DefaultMaxTokens is sent when a request names no limit: the API demands
// one, and 1024 tokens covers the answers evaluation tasks ask for.
const DefaultMaxTokens = 1024

// DefaultTimeout bounds one call when the config names none; Anthropic
// recommends allowing 10 minutes.
const DefaultTimeout = 10 * time.Minute

// Provider talks to the Anthropic API.
type Provider struct {
	client  anthropic.Client
	key     string // kept only to scrub it from errors
	timeout time.Duration
}

var _ provider.StreamProvider = (*Provider)(nil)

// New builds the provider. The key is Config.APIKey, else the variable
// named by the api_key_env option, else ANTHROPIC_API_KEY. The address is
// Ref.BaseURL, else ANTHROPIC_BASE_URL, else Anthropic's.
func New(cfg provider.Config) (*Provider, error) {
	env := cfg.Options["api_key_env"]
	if env == "" {
		env = "ANTHROPIC_API_KEY"
	}
	key := cfg.Key(env)
	if key == "" {
		if env == "ANTHROPIC_API_KEY" {
			return nil, errors.New("anthropic: no API key: set ANTHROPIC_API_KEY (or api_key_env in tunelab.yaml)")
		}
		return nil, fmt.Errorf("anthropic: no API key: set %s (named by api_key_env in tunelab.yaml)", env)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	opts := []option.RequestOption{
		// The SDK would otherwise also look for auth tokens, profiles and
		// federation in the environment; tunelab resolves the key itself.
		option.WithoutEnvironmentDefaults(),
		option.WithAPIKey(key),
		option.WithHTTPClient(hc),
		// tunelab's retry middleware retries, visibly and counted.
		option.WithMaxRetries(0),
	}
	base := cfg.Ref.BaseURL
	if base == "" {
		base = os.Getenv("ANTHROPIC_BASE_URL")
	}
	if base != "" {
		opts = append(opts, option.WithBaseURL(base))
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Provider{client: anthropic.NewClient(opts...), key: key, timeout: timeout}, nil
}

// Name is "anthropic".
func (p *Provider) Name() string { return name }

// Complete runs one Messages call.
func (p *Provider) Complete(ctx context.Context, req provider.Request) (*provider.Response, error) {
	params, err := p.params(req)
	if err != nil {
		return nil, err
	}
	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var raw *http.Response
	start := time.Now()
	msg, err := p.client.Messages.New(callCtx, params, option.WithResponseInto(&raw))
	latency := time.Since(start)
	if err != nil {
		return nil, p.fail(ctx, raw, err)
	}
	if msg.Type != "message" {
		return nil, p.fail(ctx, nil, fmt.Errorf("the answer is not a message (type %q)", msg.Type))
	}
	out := response(msg)
	out.Latency = latency
	return out, nil
}

func response(msg *anthropic.Message) *provider.Response {
	var text strings.Builder
	for _, b := range msg.Content {
		if b.Type == "text" {
			text.WriteString(b.Text)
		}
	}
	u := msg.Usage
	return &provider.Response{
		Text: text.String(),
		// Cached input is billed differently but is input all the same;
		// InputTokens alone counts only what missed the cache.
		Usage:        provider.Usage{InputTokens: int(u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens), OutputTokens: int(u.OutputTokens)},
		Model:        msg.Model,
		FinishReason: finishReason(msg.StopReason),
	}
}

// finishReason maps Anthropic's stop reasons to the OpenAI vocabulary the
// rest of tunelab reads.
func finishReason(r anthropic.StopReason) string {
	switch r {
	case anthropic.StopReasonEndTurn, anthropic.StopReasonStopSequence:
		return "stop"
	case anthropic.StopReasonMaxTokens, anthropic.StopReasonModelContextWindowExceeded:
		return "length"
	case anthropic.StopReasonRefusal:
		return "content_filter"
	case anthropic.StopReasonToolUse:
		return "tool_calls"
	}
	return string(r)
}

// params builds the Messages request. System turns go to the system
// parameter, where the API wants them. Request.Seed is not sent: the API
// has no seed and refuses unknown fields.
func (p *Provider) params(req provider.Request) (anthropic.MessageNewParams, error) {
	params := anthropic.MessageNewParams{Model: req.Model, MaxTokens: DefaultMaxTokens}
	if req.MaxTokens > 0 {
		params.MaxTokens = int64(req.MaxTokens)
	}
	for i, m := range req.Messages {
		switch m.Role {
		case "system":
			params.System = append(params.System, anthropic.TextBlockParam{Text: m.Content})
		case "user":
			params.Messages = append(params.Messages, anthropic.NewUserMessage(anthropic.NewTextBlock(m.Content)))
		case "assistant":
			params.Messages = append(params.Messages, anthropic.NewAssistantMessage(anthropic.NewTextBlock(m.Content)))
		default:
			return params, p.invalid("message %d has role %q: want system, user or assistant", i+1, m.Role)
		}
	}
	if req.Temperature != nil {
		params.Temperature = anthropic.Float(*req.Temperature)
	}
	if req.TopP != nil {
		params.TopP = anthropic.Float(*req.TopP)
	}
	if len(req.Stop) > 0 {
		params.StopSequences = req.Stop
	}
	if len(req.JSONSchema) > 0 {
		var schema map[string]any
		if err := json.Unmarshal(req.JSONSchema, &schema); err != nil {
			return params, p.invalid("the JSON schema is not a JSON object: %v", err)
		}
		params.OutputConfig = anthropic.OutputConfigParam{Format: anthropic.JSONOutputFormatParam{Schema: schema}}
	}
	return params, nil
}

func (p *Provider) invalid(format string, args ...any) error {
	return &provider.Error{Provider: name, Message: fmt.Sprintf(format, args...)}
}

// retryableTypes are the error types Anthropic uses for failures on its
// side; they matter for errors sent inside a stream, which carry no HTTP
// status of their own.
var retryableTypes = map[anthropic.ErrorType]bool{
	anthropic.ErrorTypeRateLimitError:  true,
	anthropic.ErrorTypeOverloadedError: true,
	anthropic.ErrorTypeAPIError:        true,
	anthropic.ErrorTypeTimeoutError:    true,
}

// fail turns what the SDK returned into a *provider.Error with the key
// scrubbed. raw is the HTTP answer when one came; the SDK keeps its body
// readable after an error.
func (p *Provider) fail(caller context.Context, raw *http.Response, err error) error {
	var pe *provider.Error
	var apiErr *anthropic.Error
	switch {
	case raw != nil && raw.StatusCode >= 400:
		var body []byte
		if raw.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(raw.Body, 1<<20))
		}
		pe = provider.HTTPFailure(name, raw.StatusCode, raw.Header, body)
		pe.Err = err
	case errors.As(err, &apiErr) && caller.Err() == nil:
		// An error event inside a stream that had started well.
		pe = provider.HTTPFailure(name, 0, nil, []byte(apiErr.RawJSON()))
		pe.Retryable = retryableTypes[apiErr.Type()]
		pe.Err = err
	default:
		pe = provider.CallFailure(name, caller, err)
	}
	return provider.Redact(pe, p.key)
}
