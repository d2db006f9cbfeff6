package provider

import (
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

// Ref names a model: which backend, which model, and for servers that
// speak a known API at an address of the user's choosing, where.
//
// Written forms:
//
//	openai:gpt-4o-mini
//	anthropic:claude-3-5-haiku-latest
//	gemini:gemini-2.0-flash
//	openai-compatible:http://localhost:11434/v1#qwen2.5:0.5b
//	local:models/base.gguf
type Ref struct {
	Provider string `json:"provider"`
	Model    string `json:"model"`
	BaseURL  string `json:"base_url,omitempty"`
}

// ParseRef parses the written form of a model reference.
func ParseRef(s string) (Ref, error) {
	s = strings.TrimSpace(s)
	name, rest, ok := strings.Cut(s, ":")
	if !ok || name == "" || rest == "" {
		return Ref{}, fmt.Errorf("model %q: want PROVIDER:MODEL, e.g. openai:gpt-4o-mini or local:model.gguf", s)
	}
	r := Ref{Provider: name, Model: rest}
	if name == "openai-compatible" {
		base, model, ok := strings.Cut(rest, "#")
		if !ok || base == "" || model == "" {
			return Ref{}, fmt.Errorf("model %q: want openai-compatible:URL#MODEL, e.g. openai-compatible:http://localhost:11434/v1#qwen2.5:0.5b", s)
		}
		if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
			return Ref{}, fmt.Errorf("model %q: the server address %q must start with http:// or https://", s, base)
		}
		r.BaseURL, r.Model = base, model
	}
	return r, nil
}

// String gives the written form back.
func (r Ref) String() string {
	if r.BaseURL != "" {
		return r.Provider + ":" + r.BaseURL + "#" + r.Model
	}
	return r.Provider + ":" + r.Model
}

// Config is what a backend needs to build a client.
type Config struct {
	Ref Ref
	// APIKey overrides the backend's usual environment variable.
	APIKey string
	// HTTPClient, when set, is used for every call (tests point it at
	// httptest servers; users may add proxies).
	HTTPClient *http.Client
	// Timeout bounds one call; 0 means the backend's default.
	Timeout time.Duration
	// Dir is the lab directory, for backends that resolve relative paths.
	Dir string
	// Options carries backend-specific settings from the config file.
	Options map[string]string
}

// Key returns the API key: the explicit one, else the first of the named
// environment variables that is set.
func (c Config) Key(envVars ...string) string {
	if c.APIKey != "" {
		return c.APIKey
	}
	for _, v := range envVars {
		if k := os.Getenv(v); k != "" {
			return k
		}
	}
	return ""
}

// Factory builds a Provider for one model.
type Factory func(Config) (Provider, error)

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
)

// Register makes a backend available under name. Backends call it from
// init; registering a name twice is a programming error.
func Register(name string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[name]; dup {
		panic("provider: Register called twice for " + name)
	}
	factories[name] = f
}

// Names lists the registered backends.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(factories))
	for n := range factories {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// New builds the provider for cfg.Ref.
func New(cfg Config) (Provider, error) {
	mu.RLock()
	f, ok := factories[cfg.Ref.Provider]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown provider %q in model %q (known: %s)", cfg.Ref.Provider, cfg.Ref.String(), strings.Join(Names(), ", "))
	}
	return f(cfg)
}
