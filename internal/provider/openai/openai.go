// Package openai is tunelab's backend for the OpenAI API and for the many
// servers that speak its chat completions dialect (Ollama, vLLM, the
// llama.cpp server, LM Studio...), through the official openai-go SDK. It
// registers two providers: "openai" and "openai-compatible".
package openai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/packages/ssestream"

	"github.com/tunelab/tunelab/internal/provider"
)

func init() {
	provider.Register("openai", func(cfg provider.Config) (provider.Provider, error) { return New(cfg) })
	provider.Register("openai-compatible", func(cfg provider.Config) (provider.Provider, error) { return NewCompatible(cfg) })
}

// DefaultTimeout bounds one call when the config names no timeout: long
// enough for a slow local model writing a long answer, short enough that a
// dead connection does not stall a run for good.
const DefaultTimeout = 10 * time.Minute

// Provider talks to one OpenAI-style server.
type Provider struct {
	name       string
	client     openai.Client
	key        string // kept only to scrub it from errors
	compatible bool
	timeout    time.Duration
}

var (
	_ provider.StreamProvider = (*Provider)(nil)
	_ provider.Embedder       = (*Provider)(nil)
)

// New builds the "openai" provider. The key is Config.APIKey, else the
// environment variable named by the api_key_env option, else
// OPENAI_API_KEY; without one it fails. Ref.BaseURL, when set, replaces
// the SDK's (which honours OPENAI_BASE_URL).
func New(cfg provider.Config) (*Provider, error) {
	env := cfg.Options["api_key_env"]
	if env == "" {
		env = "OPENAI_API_KEY"
	}
	key := cfg.Key(env)
	if key == "" {
		if env == "OPENAI_API_KEY" {
			return nil, errors.New("openai: no API key: set OPENAI_API_KEY (or api_key_env in tunelab.yaml)")
		}
		return nil, fmt.Errorf("openai: no API key: set %s (named by api_key_env in tunelab.yaml)", env)
	}
	return build("openai", cfg, key, false), nil
}

// NewCompatible builds the "openai-compatible" provider for the server at
// Ref.BaseURL. Local servers ignore keys, so one is optional: Config.APIKey,
// else the variable named by api_key_env, else a placeholder. It never falls
// back to OPENAI_API_KEY: that would send the user's OpenAI key to whatever
// server the reference names.
func NewCompatible(cfg provider.Config) (*Provider, error) {
	if cfg.Ref.BaseURL == "" {
		return nil, fmt.Errorf("openai-compatible: model %q has no server address: write it as openai-compatible:URL#MODEL", cfg.Ref.String())
	}
	var envs []string
	if env := cfg.Options["api_key_env"]; env != "" {
		envs = append(envs, env)
	}
	key := cfg.Key(envs...)
	if key == "" {
		key = "none"
	}
	return build("openai-compatible", cfg, key, true), nil
}

// sharedClient keeps enough idle connections per server for concurrent
// calls to reuse them: Go's default keeps two, so a run or a gateway with
// more calls in flight would open and close a connection per call, which
// costs a handshake each time and, under load, most of the tail latency.
var sharedClient = &http.Client{Transport: func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	return t
}()}

func build(name string, cfg provider.Config, key string, compatible bool) *Provider {
	opts := []option.RequestOption{
		option.WithAPIKey(key),
		// tunelab's retry middleware retries, visibly and counted; the
		// SDK's own retries would hide attempts and double the waits.
		option.WithMaxRetries(0),
	}
	if cfg.Ref.BaseURL != "" {
		opts = append(opts, option.WithBaseURL(cfg.Ref.BaseURL))
	}
	client := cfg.HTTPClient
	if client == nil {
		client = sharedClient
	}
	opts = append(opts, option.WithHTTPClient(client))
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Provider{name: name, client: openai.NewClient(opts...), key: key, compatible: compatible, timeout: timeout}
}

// Name is "openai" or "openai-compatible".
func (p *Provider) Name() string { return p.name }

// Complete runs one chat completion.
func (p *Provider) Complete(ctx context.Context, req provider.Request) (*provider.Response, error) {
	body, err := p.body(req)
	if err != nil {
		return nil, err
	}
	callCtx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	var raw *http.Response
	var res chatAnswer
	start := time.Now()
	err = p.client.Post(callCtx, "chat/completions", body, &res, option.WithResponseInto(&raw))
	latency := time.Since(start)
	if err != nil {
		return nil, p.fail(ctx, raw, err)
	}
	if len(res.Choices) == 0 {
		return nil, p.fail(ctx, nil, errors.New("the answer has no choices"))
	}
	ch := res.Choices[0]
	text, finish := ch.Message.Content, finishReason(ch.FinishReason)
	if text == "" && ch.Message.Refusal != "" {
		text, finish = ch.Message.Refusal, "content_filter"
	}
	return &provider.Response{
		Text:         text,
		Usage:        provider.Usage{InputTokens: res.Usage.PromptTokens, OutputTokens: res.Usage.CompletionTokens},
		Model:        res.Model,
		FinishReason: finish,
		Latency:      latency,
	}, nil
}

// finishReason passes OpenAI's reasons on; they are the vocabulary the
// other backends map theirs to. "function_call" is the old name.
func finishReason(r string) string {
	if r == "function_call" {
		return "tool_calls"
	}
	return r
}

// schemaName is what OpenAI accepts as a json_schema name.
var schemaName = regexp.MustCompile(`[^a-zA-Z0-9_-]+`)

// invalid reports a request tunelab will not send: not retryable.
func (p *Provider) invalid(format string, args ...any) error {
	return &provider.Error{Provider: p.name, Message: fmt.Sprintf(format, args...)}
}

// fail turns what the SDK returned into a *provider.Error with the key
// scrubbed. raw is the HTTP answer when one came: its status, headers and
// body (which the SDK keeps readable after an error) say more than the
// SDK's error, whose body parsing fails on servers that do not use
// OpenAI's error shape.
func (p *Provider) fail(caller context.Context, raw *http.Response, err error) error {
	var pe *provider.Error
	var streamErr *ssestream.StreamError
	switch {
	case raw != nil && raw.StatusCode >= 400:
		var body []byte
		if raw.Body != nil {
			body, _ = io.ReadAll(io.LimitReader(raw.Body, 1<<20))
		}
		pe = provider.HTTPFailure(p.name, raw.StatusCode, raw.Header, body)
		pe.Err = err
	case errors.As(err, &streamErr) && caller.Err() == nil:
		// The server reported an error partway through a stream: the
		// request was accepted, so the failure is on its side.
		pe = &provider.Error{Provider: p.name, Retryable: true, Message: streamErr.Message, Err: err}
	default:
		pe = provider.CallFailure(p.name, caller, err)
	}
	return provider.Redact(pe, p.key)
}
