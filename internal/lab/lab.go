// Package lab holds tunelab's domain types and the interfaces the backends
// implement: examples and splits, the task, prompt variants and candidates,
// scorers, call results and runs, and the store they are kept in. It
// imports no backend; backends import it.
package lab

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/tunelab/tunelab/internal/provider"
)

// Example is one row of a dataset.
type Example struct {
	ID       string            `json:"id"`
	Input    string            `json:"input"`
	Expected string            `json:"expected,omitempty"`
	Meta     map[string]string `json:"meta,omitempty"`
	// Where the row came from, for error messages. Not part of identity.
	Source string `json:"-"`
	Line   int    `json:"-"`
}

// Split names a partition of a dataset.
type Split string

// The splits every lab uses. Prompt optimisation reads Validation, never
// Test; every candidate is scored on the same Test.
const (
	Train      Split = "train"
	Validation Split = "validation"
	Test       Split = "test"
)

// Output formats a task can declare.
const (
	OutputLabel = "label" // one of Task.Labels
	OutputText  = "text"  // free text
	OutputJSON  = "json"  // a JSON document, optionally against a schema
)

// Task is what the model must do and what the team needs of it.
type Task struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Output      string   `json:"output"`
	Labels      []string `json:"labels,omitempty"`
	// Volume is the expected number of calls per day, for cost projection.
	Volume      int         `json:"volume,omitempty"`
	Constraints Constraints `json:"constraints"`
}

// Constraints are the limits the advisor must respect.
type Constraints struct {
	MinQuality       float64 `json:"min_quality,omitempty"`       // 0..1 on the primary scorer
	MaxLatencyMS     float64 `json:"max_latency_ms,omitempty"`    // p95
	MonthlyBudget    float64 `json:"monthly_budget,omitempty"`    // USD
	LocalOnly        bool    `json:"local_only,omitempty"`        // data must not leave the machine
	ChangeFrequency  string  `json:"change_frequency,omitempty"`  // how often the task changes
	KnowledgeChanges bool    `json:"knowledge_changes,omitempty"` // whether the facts it needs change
}

// Few-shot selection strategies.
const (
	SelectFixed   = "fixed"
	SelectRandom  = "random"
	SelectNearest = "nearest"
)

// FewShot says which train examples go into the prompt as demonstrations.
type FewShot struct {
	K      int      `json:"k"`
	Select string   `json:"select"` // fixed, random or nearest
	IDs    []string `json:"ids,omitempty"`
	Seed   int64    `json:"seed,omitempty"`
}

// Variant is one named, reproducible way of prompting. Techniques compose:
// a role prompt with few-shot examples and chain-of-thought is one variant.
type Variant struct {
	Name      string `json:"name"`
	Technique string `json:"technique,omitempty"` // the preset it started from, for reports
	System    string `json:"system,omitempty"`
	// Instructions come before the input in the user turn.
	Instructions string `json:"instructions,omitempty"`
	// Template renders the user turn; {{.Input}} is the case's input.
	Template string   `json:"template,omitempty"`
	FewShot  *FewShot `json:"few_shot,omitempty"`
	// ChainOfThought asks for reasoning first and extracts the answer with
	// AnswerPattern (its first group).
	ChainOfThought bool   `json:"chain_of_thought,omitempty"`
	AnswerPattern  string `json:"answer_pattern,omitempty"`
	// JSONSchema asks for structured output; AnswerField is the field that
	// holds the answer the scorers see (empty: the whole document).
	JSONSchema  json.RawMessage `json:"json_schema,omitempty"`
	AnswerField string          `json:"answer_field,omitempty"`
}

// Params are sampling settings shared by a candidate's calls.
type Params struct {
	Temperature *float64 `json:"temperature,omitempty"`
	MaxTokens   int      `json:"max_tokens,omitempty"`
	Seed        *int64   `json:"seed,omitempty"`
}

// Candidate is one way to do the task: a model and a prompt variant,
// optionally with retrieval.
type Candidate struct {
	ID      string  `json:"id"`
	Model   string  `json:"model"` // provider.Ref written form
	Variant Variant `json:"variant"`
	Params  Params  `json:"params"`
	// Retrieval, when set, puts chunks of the task's knowledge that match
	// each case into its prompt.
	Retrieval *Retrieval `json:"retrieval,omitempty"`
}

// Retrieval modes.
const (
	RetrieveBM25   = "bm25"
	RetrieveVector = "vector"
	RetrieveHybrid = "hybrid"
)

// Retrieval says how a candidate searches the knowledge for each case.
type Retrieval struct {
	// Index identifies the knowledge index searched: its content and chunk
	// settings, so a changed knowledge base makes a different candidate.
	Index string `json:"index"`
	Mode  string `json:"mode"` // bm25, vector or hybrid
	K     int    `json:"k"`    // chunks put into the prompt
	// Weight is the vector list's share in hybrid fusion, in [0, 1].
	Weight float64 `json:"weight,omitempty"`
	// Embed is the embedding model for vector and hybrid modes.
	Embed string `json:"embed,omitempty"`
	// Rerank is a model that reorders the search's Candidates best chunks
	// by how well each answers the query; the prompt gets the first K.
	Rerank     string `json:"rerank,omitempty"`
	Candidates int    `json:"candidates,omitempty"`
}

// Score is one scorer's verdict on one answer, Value in [0, 1].
type Score struct {
	Value  float64 `json:"value"`
	Pass   bool    `json:"pass"`
	Reason string  `json:"reason,omitempty"`
}

// Scorer judges an answer against an example.
type Scorer interface {
	Name() string
	Score(ctx context.Context, ex Example, answer string) (Score, error)
}

// ScorerSpec configures one scorer.
type ScorerSpec struct {
	Type      string          `json:"type"` // exact, normalized, label, contains, regex, json-schema, json-field, f1, rouge-l, embedding, judge
	Name      string          `json:"name,omitempty"`
	Primary   bool            `json:"primary,omitempty"`
	Pattern   string          `json:"pattern,omitempty"`   // regex
	Field     string          `json:"field,omitempty"`     // json-field
	Schema    json.RawMessage `json:"schema,omitempty"`    // json-schema
	Model     string          `json:"model,omitempty"`     // judge, embedding
	Rubric    string          `json:"rubric,omitempty"`    // judge
	Threshold float64         `json:"threshold,omitempty"` // pass mark for graded scorers
}

// CallResult is one candidate's answer to one case on one repeat.
type CallResult struct {
	RunID       string           `json:"run_id"`
	CandidateID string           `json:"candidate_id"`
	CaseID      string           `json:"case_id"`
	Repeat      int              `json:"repeat"`
	Output      string           `json:"output"`
	Answer      string           `json:"answer"`
	Scores      map[string]Score `json:"scores,omitempty"`
	Pass        bool             `json:"pass"` // primary scorer
	LatencyMS   float64          `json:"latency_ms"`
	TokensIn    int              `json:"tokens_in"`
	TokensOut   int              `json:"tokens_out"`
	Cost        float64          `json:"cost"`
	Cached      bool             `json:"cached,omitempty"`
	Error       string           `json:"error,omitempty"`
	// ErrorKind sorts a failed call (see eval.ErrorKind) so failures can
	// be counted by cause.
	ErrorKind string `json:"error_kind,omitempty"`
	Attempts  int    `json:"attempts,omitempty"`
	// Retrieved lists the ids of the knowledge chunks put into the prompt,
	// best first (retrieval candidates only).
	Retrieved []string  `json:"retrieved,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// Key identifies a call within a run.
func (r CallResult) Key() CallKey {
	return CallKey{Candidate: r.CandidateID, Case: r.CaseID, Repeat: r.Repeat}
}

// CallKey identifies a call within a run.
type CallKey struct {
	Candidate string
	Case      string
	Repeat    int
}

// Run statuses.
const (
	RunRunning  = "running"
	RunDone     = "done"
	RunCanceled = "canceled"
)

// RunInfo describes a run: candidates x test cases x repeats.
type RunInfo struct {
	ID             string      `json:"id"`
	Lab            string      `json:"lab"`
	Dataset        string      `json:"dataset"` // dataset version (content hash)
	Candidates     []Candidate `json:"candidates"`
	Cases          int         `json:"cases"`
	Repeats        int         `json:"repeats"`
	Status         string      `json:"status"`
	CreatedAt      time.Time   `json:"created_at"`
	UpdatedAt      time.Time   `json:"updated_at"`
	PrimaryScorer  string      `json:"primary_scorer"`
	ScorerNames    []string    `json:"scorers"`
	ConfigChecksum string      `json:"config_checksum"`
}

// ErrNotFound is returned by stores for a missing record.
var ErrNotFound = errors.New("not found")

// Store keeps runs, results and the response cache. Every implementation
// passes the contract suite in internal/store/storetest.
type Store interface {
	ServingStore
	ArtifactStore
	// SaveRun creates or replaces a run's description.
	SaveRun(ctx context.Context, run RunInfo) error
	// Run returns one run, or ErrNotFound.
	Run(ctx context.Context, id string) (RunInfo, error)
	// Runs lists runs, newest first.
	Runs(ctx context.Context) ([]RunInfo, error)
	// SaveResult records one call durably before returning. Saving the
	// same (run, candidate, case, repeat) twice keeps one record: the
	// later one.
	SaveResult(ctx context.Context, r CallResult) error
	// Results returns a run's results in a stable order (candidate, case,
	// repeat).
	Results(ctx context.Context, runID string) ([]CallResult, error)
	// CacheGet returns a cached response for a request key.
	CacheGet(ctx context.Context, key string) (*provider.Response, bool, error)
	// CachePut stores a response under a request key.
	CachePut(ctx context.Context, key string, resp *provider.Response) error
	Close() error
}
