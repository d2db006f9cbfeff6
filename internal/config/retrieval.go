package config

import (
	"fmt"
	"path/filepath"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
)

// Retrieval defaults.
const (
	DefaultRetrievalK     = 3
	DefaultRetrievalMode  = lab.RetrieveBM25
	DefaultQuestionScorer = "contains"
	// DefaultQuestionTask is the instruction the knowledge questions are
	// asked with when retrieval.task is not set.
	DefaultQuestionTask = "Answer the customer's question in a few words."
	// MaxRerankCandidates bounds what one rerank call reads: every
	// candidate is in its prompt.
	MaxRerankCandidates = 50
)

// NoRerank, as a prompt's retrieval.rerank, turns the lab's reranker off
// for that prompt (to compare with and without it).
const NoRerank = "none"

// RetrievalSpec is the retrieval section: how the knowledge: folders are
// chunked and searched, and the questions the ladder's RAG rung is scored
// on.
type RetrievalSpec struct {
	// ChunkTokens and Overlap decide the chunks; an index built with other
	// values is rebuilt.
	ChunkTokens int `yaml:"chunk_tokens"`
	Overlap     int `yaml:"overlap"`
	// Mode is bm25, vector or hybrid; K the chunks put into a prompt;
	// Weight the vector list's share in hybrid fusion; Embed the embedding
	// model for vector and hybrid.
	Mode   string  `yaml:"mode"`
	K      int     `yaml:"k"`
	Weight float64 `yaml:"weight"`
	Embed  string  `yaml:"embed"`
	// Questions is a dataset of questions the knowledge answers, each
	// naming its document in meta.source. The ladder asks them with and
	// without retrieval.
	Questions string `yaml:"questions"`
	// Task is the instruction the questions are asked with; Prompt names
	// the prompt variant compared (default: the first); Scorer scores the
	// answers against the expected facts (default: contains).
	Task   string `yaml:"task"`
	Prompt string `yaml:"prompt"`
	Scorer string `yaml:"scorer"`
	// Judge is a model (provider:model) that judges whether each answer
	// given with retrieval is supported by the chunks it was given. Set,
	// it decides groundedness and the hallucination rate; unset, they come
	// from word overlap.
	Judge string `yaml:"judge"`
	// Rerank is a model (provider:model) that reads the search's
	// RerankCandidates best chunks (default 4 x k, at most 50) with the
	// query, in one call, and orders them by how well each answers it;
	// the prompt gets the first k.
	Rerank           string `yaml:"rerank"`
	RerankCandidates int    `yaml:"rerank_candidates"`
}

// PromptRetrieval turns retrieval on for a prompt variant, optionally
// with its own search settings.
type PromptRetrieval struct {
	Mode   string  `yaml:"mode"`
	K      int     `yaml:"k"`
	Weight float64 `yaml:"weight"`
	// Rerank replaces the lab's reranker for this prompt; "none" turns
	// it off.
	Rerank string `yaml:"rerank"`
	on     bool
}

// On reports whether the prompt retrieves.
func (p *PromptRetrieval) On() bool { return p != nil && p.on }

// UnmarshalYAML accepts `retrieval: true|false` as well as a mapping.
func (p *PromptRetrieval) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var on bool
		if err := n.Decode(&on); err != nil {
			return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: want true, false or a mapping of mode, k and weight, got %q", n.Line, n.Value)}}
		}
		*p = PromptRetrieval{on: on}
		return nil
	}
	type plain PromptRetrieval
	if err := n.Decode((*plain)(p)); err != nil {
		return err
	}
	p.on = true
	return nil
}

// NewPromptRetrieval returns settings that turn retrieval on (for
// variants built in code, such as the ladder's).
func NewPromptRetrieval(mode string, k int, weight float64) *PromptRetrieval {
	return &PromptRetrieval{Mode: mode, K: k, Weight: weight, on: true}
}

// Search returns the retrieval a prompt uses: its own settings over the
// lab's. index identifies the knowledge index.
func (c *Config) Search(p *PromptRetrieval, index string) *lab.Retrieval {
	if !p.On() {
		return nil
	}
	r := &lab.Retrieval{Index: index, Mode: c.Retrieval.Mode, K: c.Retrieval.K, Weight: c.Retrieval.Weight}
	if p.Mode != "" {
		r.Mode = p.Mode
	}
	if p.K > 0 {
		r.K = p.K
	}
	if p.Weight > 0 {
		r.Weight = p.Weight
	}
	if r.Mode != lab.RetrieveBM25 {
		r.Embed = c.Retrieval.Embed
	}
	switch p.Rerank {
	case "":
		r.Rerank = c.Retrieval.Rerank
	case NoRerank:
	default:
		r.Rerank = p.Rerank
	}
	if r.Rerank != "" {
		r.Candidates = c.Retrieval.RerankCandidates
		if r.Candidates == 0 {
			r.Candidates = min(4*r.K, MaxRerankCandidates)
		}
		r.Candidates = max(r.Candidates, r.K)
	}
	return r
}

// KnowledgeIndexPath is where the lab's knowledge index lives.
func (c *Config) KnowledgeIndexPath() string { return filepath.Join(c.Dir, ".tunelab", "knowledge.db") }

var retrievalModes = []string{lab.RetrieveBM25, lab.RetrieveVector, lab.RetrieveHybrid}

// validateRetrieval fills the retrieval defaults and checks them and every
// prompt's retrieval setting.
func (c *Config) validateRetrieval() error {
	r := &c.Retrieval
	if r.Mode == "" {
		r.Mode = DefaultRetrievalMode
	}
	if r.K == 0 {
		r.K = DefaultRetrievalK
	}
	if err := c.checkSearch("retrieval", r.Mode, r.K, r.Weight); err != nil {
		return err
	}
	if r.ChunkTokens < 0 || r.Overlap < 0 {
		return c.Errorf("retrieval", "chunk_tokens and overlap must not be negative")
	}
	if r.ChunkTokens > 0 && r.Overlap >= r.ChunkTokens {
		return c.Errorf("retrieval.overlap", "must be smaller than chunk_tokens (%d)", r.ChunkTokens)
	}
	if r.Embed != "" {
		if _, err := provider.ParseRef(r.Embed); err != nil {
			return c.Errorf("retrieval.embed", "%v", err)
		}
	}
	if r.Judge != "" {
		if _, err := provider.ParseRef(r.Judge); err != nil {
			return c.Errorf("retrieval.judge", "%v (the model that judges groundedness, e.g. openai:gpt-4.1-mini)", err)
		}
	}
	if r.Rerank != "" {
		if _, err := provider.ParseRef(r.Rerank); err != nil {
			return c.Errorf("retrieval.rerank", "%v (the model that reorders the search's best chunks, e.g. openai:gpt-4.1-mini)", err)
		}
	}
	if r.RerankCandidates < 0 || r.RerankCandidates > MaxRerankCandidates {
		return c.Errorf("retrieval.rerank_candidates", "must be between 0 (4 x k) and %d: the reranker reads every candidate in one prompt", MaxRerankCandidates)
	}
	if r.RerankCandidates > 0 && r.RerankCandidates < r.K {
		return c.Errorf("retrieval.rerank_candidates", "must be at least k (%d): the reranker chooses the prompt's k chunks among them", r.K)
	}
	if r.Scorer == "" {
		r.Scorer = DefaultQuestionScorer
	}
	switch r.Scorer {
	case "exact", "normalized", "contains", "f1", "rouge-l":
	default:
		return c.Errorf("retrieval.scorer", "%q cannot score the questions: use contains, normalized, exact, f1 or rouge-l", r.Scorer)
	}
	if r.Task == "" {
		r.Task = DefaultQuestionTask
	}
	if r.Prompt != "" && !slices.ContainsFunc(c.Prompts, func(p PromptSpec) bool { return p.Name == r.Prompt }) {
		return c.Errorf("retrieval.prompt", "no prompt named %q", r.Prompt)
	}
	if r.Questions != "" && len(c.Knowledge) == 0 {
		return c.Errorf("retrieval.questions", "questions are answered from the knowledge, but there is no knowledge: list the folders that hold it")
	}
	embedPath := ""
	if r.Mode != lab.RetrieveBM25 && r.Questions != "" {
		embedPath = "retrieval.mode"
	}
	for i := range c.Prompts {
		p := c.Prompts[i].Retrieval
		if !p.On() {
			continue
		}
		path := fmt.Sprintf("prompts[%d].retrieval", i)
		if len(c.Knowledge) == 0 {
			return c.Errorf(path, "retrieval needs knowledge: add `knowledge: [docs/]` with the folders to search")
		}
		mode := p.Mode
		if mode == "" {
			mode = r.Mode
		}
		if err := c.checkSearch(path, mode, p.K, p.Weight); err != nil {
			return err
		}
		if p.Rerank != "" && p.Rerank != NoRerank {
			if _, err := provider.ParseRef(p.Rerank); err != nil {
				return c.Errorf(path+".rerank", "%v (a model, or none to turn the lab's reranker off)", err)
			}
		}
		if mode != lab.RetrieveBM25 && embedPath == "" {
			embedPath = path
		}
	}
	if embedPath != "" && r.Embed == "" {
		return c.Errorf(embedPath, "vector and hybrid retrieval need an embedding model: set retrieval.embed, e.g. local:base or openai:text-embedding-3-small")
	}
	for i, s := range c.Scorers {
		if len(s.Name) >= len("retrieval.") && s.Name[:len("retrieval.")] == "retrieval." {
			return c.Errorf(fmt.Sprintf("scorers[%d].name", i), "names starting with \"retrieval.\" are kept for retrieval measurements: choose another")
		}
	}
	return nil
}

func (c *Config) checkSearch(path, mode string, k int, weight float64) error {
	if !slices.Contains(retrievalModes, mode) {
		return c.Errorf(path+".mode", "unknown retrieval mode %q: use bm25, vector or hybrid", mode)
	}
	if k < 0 || k > 50 {
		return c.Errorf(path+".k", "must be between 1 and 50 chunks")
	}
	if weight < 0 || weight > 1 {
		return c.Errorf(path+".weight", "must be between 0 and 1 (the vector list's share)")
	}
	return nil
}
