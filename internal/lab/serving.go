package lab

import (
	"context"
	"time"

	"github.com/tunelab/tunelab/internal/provider"
)

// Deployment is a candidate frozen for serving: everything that decides its
// answers (the task as its prompt saw it, the candidate, the demonstrations
// its few-shot prompt draws from and the model file's fingerprint) is kept
// in the record, so a later edit of the lab does not change what is served
// under a version that was measured.
type Deployment struct {
	Name    string `json:"name"`
	Version int    `json:"version"` // 1, 2, ... per name; assigned by the store
	Lab     string `json:"lab"`
	// Task is the lab's task when the deployment was made.
	Task      Task      `json:"task"`
	Candidate Candidate `json:"candidate"`
	// Demos is the pool few-shot prompts pick demonstrations from (the
	// train split at deploy time); empty when the prompt uses none.
	Demos []Example `json:"demos,omitempty"`
	// ModelVersion fingerprints a local model file; serving refuses a file
	// that no longer matches.
	ModelVersion string `json:"model_version,omitempty"`
	// Dataset is the lab's dataset version the candidate was measured on.
	Dataset string `json:"dataset,omitempty"`
	// Quality is the primary score measured in evaluation, when known; the
	// monitor compares live quality against it.
	Quality *float64 `json:"quality,omitempty"`
	// Split sends a share of this name's traffic to other deployments
	// (A/B); the rest is served by this deployment's own candidate.
	Split []Arm `json:"split,omitempty"`
	// Shadow names a challenger deployment that receives a copy of every
	// call; its answer is traced but never returned.
	Shadow    string    `json:"shadow,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Arm is one branch of a traffic split.
type Arm struct {
	Deployment string  `json:"deployment"`
	Weight     float64 `json:"weight"` // share of traffic, in (0, 1)
}

// Trace is one call served by the gateway, as it happened.
type Trace struct {
	ID         string `json:"id"`
	Deployment string `json:"deployment"` // the name the client asked for
	Version    int    `json:"version"`    // of the deployment that answered
	Served     string `json:"served"`     // the deployment that answered (differs under a split)
	Shadow     bool   `json:"shadow,omitempty"`
	KeyID      string `json:"key_id,omitempty"` // the gateway key's id, never its secret
	Endpoint   string `json:"endpoint"`         // chat, completions or embeddings
	Stream     bool   `json:"stream,omitempty"`
	// Input is the case input the candidate's prompt rendered: the last
	// user message of a chat request, or a completion's prompt.
	Input     string             `json:"input"`
	Request   []provider.Message `json:"request,omitempty"` // the messages the client sent
	Prompt    []provider.Message `json:"prompt,omitempty"`  // what reached the model
	Retrieved []string           `json:"retrieved,omitempty"`
	Output    string             `json:"output"`
	Answer    string             `json:"answer"`
	Model     string             `json:"model"`
	LatencyMS float64            `json:"latency_ms"`
	TokensIn  int                `json:"tokens_in"`
	TokensOut int                `json:"tokens_out"`
	Cost      float64            `json:"cost"`
	Status    int                `json:"status"` // the HTTP status the client got
	Error     string             `json:"error,omitempty"`
	// Scores are the monitor's scorers on a sampled trace.
	Scores    map[string]Score `json:"scores,omitempty"`
	CreatedAt time.Time        `json:"created_at"`
}

// Feedback is a person's review of one trace.
type Feedback struct {
	ID       string `json:"id"`
	TraceID  string `json:"trace_id"`
	Reviewer string `json:"reviewer"`
	// Thumb is +1 or -1 (0: not given); Rating 1-5 (0: not given).
	Thumb  int `json:"thumb,omitempty"`
	Rating int `json:"rating,omitempty"`
	// Correction is the answer the trace should have given.
	Correction string    `json:"correction,omitempty"`
	Comment    string    `json:"comment,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

// APIKey is a gateway key. Only the SHA-256 of its secret is kept: the
// secret is shown once, when the key is made.
type APIKey struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	Hash string `json:"-"`
	// Deployments the key may call (empty: all).
	Deployments []string   `json:"deployments,omitempty"`
	RPM         int        `json:"rpm,omitempty"` // calls per minute (0: no limit)
	CreatedAt   time.Time  `json:"created_at"`
	RevokedAt   *time.Time `json:"revoked_at,omitempty"`
}

// Allows reports whether the key may call deployment name.
func (k APIKey) Allows(name string) bool {
	if k.RevokedAt != nil {
		return false
	}
	if len(k.Deployments) == 0 {
		return true
	}
	for _, d := range k.Deployments {
		if d == name {
			return true
		}
	}
	return false
}

// TraceFilter selects traces; zero fields select everything.
type TraceFilter struct {
	Deployment string
	Since      time.Time // inclusive
	Until      time.Time // exclusive
	ErrorsOnly bool
	Reviewed   bool // only traces with feedback
	// Shadow selects shadow traces too (they are left out by default).
	Shadow bool
	Limit  int // newest first; 0: no limit
}

// ServingStore keeps what the gateway needs: deployments, traces, feedback
// and keys. Every implementation passes the contract suite in
// internal/store/storetest.
type ServingStore interface {
	// SaveDeployment stores d as the next version of d.Name and returns it
	// with Version and CreatedAt set.
	SaveDeployment(ctx context.Context, d Deployment) (Deployment, error)
	// Deployment returns the newest version of name, or ErrNotFound.
	Deployment(ctx context.Context, name string) (Deployment, error)
	// Deployments lists the newest version of every deployment, by name.
	Deployments(ctx context.Context) ([]Deployment, error)
	// DeploymentHistory lists every version of name, oldest first (none
	// when there is no such deployment).
	DeploymentHistory(ctx context.Context, name string) ([]Deployment, error)
	// DeleteDeployment removes every version of name (its traces stay).
	DeleteDeployment(ctx context.Context, name string) error

	// SaveTraces stores traces; a trace whose ID is already stored is left
	// as it was, so replaying a log twice records each call once.
	SaveTraces(ctx context.Context, ts []Trace) error
	// Trace returns one trace, or ErrNotFound.
	Trace(ctx context.Context, id string) (Trace, error)
	// Traces lists traces, newest first.
	Traces(ctx context.Context, f TraceFilter) ([]Trace, error)
	// SetTraceScores records the monitor's scores on a stored trace.
	SetTraceScores(ctx context.Context, id string, scores map[string]Score) error

	// SaveFeedback stores a review; the trace must exist (ErrNotFound).
	SaveFeedback(ctx context.Context, f Feedback) error
	// Feedback lists a trace's reviews, oldest first.
	Feedback(ctx context.Context, traceID string) ([]Feedback, error)

	// SaveKey stores a new key.
	SaveKey(ctx context.Context, k APIKey) error
	// KeyByHash finds a key by its secret's hash, or ErrNotFound.
	KeyByHash(ctx context.Context, hash string) (APIKey, error)
	// Keys lists keys, oldest first.
	Keys(ctx context.Context) ([]APIKey, error)
	// RevokeKey marks a key revoked from now on, or ErrNotFound.
	RevokeKey(ctx context.Context, id string, at time.Time) error
}
