// Package provider defines how tunelab talks to a language model: the
// Provider interface every backend implements, the request and response
// types, the error type that tells the runner whether to retry, and the
// registry through which backends (one sub-package each) make themselves
// available without the rest of tunelab importing them.
package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Message is one chat turn.
type Message struct {
	Role    string `json:"role"` // system, user or assistant
	Content string `json:"content"`
}

// Request is one completion call. Pointer fields are optional: nil leaves
// the backend's default in place, which matters because "temperature 0" and
// "no temperature given" are different requests to most APIs.
type Request struct {
	Model       string    `json:"model"`
	Messages    []Message `json:"messages"`
	MaxTokens   int       `json:"max_tokens,omitempty"`
	Temperature *float64  `json:"temperature,omitempty"`
	TopP        *float64  `json:"top_p,omitempty"`
	Seed        *int64    `json:"seed,omitempty"`
	Stop        []string  `json:"stop,omitempty"`
	// JSONSchema, when set, asks for output that conforms to it (structured
	// output); SchemaName names it for APIs that require a name.
	JSONSchema json.RawMessage `json:"json_schema,omitempty"`
	SchemaName string          `json:"schema_name,omitempty"`
}

// Usage counts tokens as the backend reported them.
type Usage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

// Response is what came back from one call.
type Response struct {
	Text         string        `json:"text"`
	Usage        Usage         `json:"usage"`
	Model        string        `json:"model,omitempty"`
	FinishReason string        `json:"finish_reason,omitempty"`
	Latency      time.Duration `json:"latency"`
}

// Provider is a language model backend.
type Provider interface {
	// Name is the backend's registry name, e.g. "openai".
	Name() string
	// Complete runs one chat completion. Errors that may succeed on a
	// retry are returned as *Error with Retryable set.
	Complete(ctx context.Context, req Request) (*Response, error)
}

// StreamProvider is implemented by backends that can stream tokens.
type StreamProvider interface {
	Provider
	// Stream calls onDelta with each piece of text as it arrives and
	// returns the assembled response.
	Stream(ctx context.Context, req Request, onDelta func(string)) (*Response, error)
}

// Embedder is implemented by backends that compute embeddings.
type Embedder interface {
	Embed(ctx context.Context, model string, inputs []string) ([][]float32, Usage, error)
}

// Error is a failed call with enough detail for the runner to decide what
// to do next. It never carries credentials.
type Error struct {
	Provider   string
	StatusCode int           // HTTP status, 0 when the call never got an answer
	Retryable  bool          // 429, 5xx, timeouts and dropped connections
	RetryAfter time.Duration // the server's Retry-After, when it sent one
	Message    string
	Err        error
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	if e.StatusCode != 0 {
		return fmt.Sprintf("%s: HTTP %d: %s", e.Provider, e.StatusCode, msg)
	}
	return fmt.Sprintf("%s: %s", e.Provider, msg)
}

func (e *Error) Unwrap() error { return e.Err }

// IsRetryable reports whether err is worth another try.
func IsRetryable(err error) bool {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Retryable
	}
	return false
}

// RetryAfter returns the server's requested wait, or 0.
func RetryAfter(err error) time.Duration {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.RetryAfter
	}
	return 0
}

// ClassifyStatus says whether an HTTP status is worth retrying.
func ClassifyStatus(code int) bool {
	return code == 408 || code == 409 || code == 429 || code >= 500
}
