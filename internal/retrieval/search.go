package retrieval

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Search modes.
const (
	ModeBM25   = "bm25"
	ModeVector = "vector"
	ModeHybrid = "hybrid"
)

// SearchOptions configure a Searcher.
type SearchOptions struct {
	Mode string // bm25 (default), vector or hybrid
	K    int    // hits returned (default 3)
	// Weight is the vector list's share of the fusion in hybrid mode, in
	// [0, 1]; 0 means an even split.
	Weight float64
	// Embed embeds chunks and queries for vector and hybrid modes, and
	// EmbedModel names the model behind it: chunks embedded by another
	// model are embedded again, never compared with these.
	Embed      EmbedFunc
	EmbedModel string
}

// Searcher answers queries from an Index in one configured way.
type Searcher struct {
	ix   *Index
	o    SearchOptions
	vecs *VectorIndex
}

// NewSearcher checks o and, for vector and hybrid modes, embeds every
// chunk that has no embedding from o.EmbedModel yet.
func NewSearcher(ctx context.Context, ix *Index, o SearchOptions) (*Searcher, error) {
	if o.Mode == "" {
		o.Mode = ModeBM25
	}
	if o.K <= 0 {
		o.K = 3
	}
	if o.Weight < 0 || o.Weight > 1 {
		return nil, fmt.Errorf("retrieval weight %v: must be between 0 and 1", o.Weight)
	}
	s := &Searcher{ix: ix, o: o}
	switch o.Mode {
	case ModeBM25:
		return s, nil
	case ModeVector, ModeHybrid:
	default:
		return nil, fmt.Errorf("retrieval mode %q: use bm25, vector or hybrid", o.Mode)
	}
	if o.Embed == nil || o.EmbedModel == "" {
		return nil, fmt.Errorf("retrieval mode %s needs an embedding model", o.Mode)
	}
	if err := ix.useEmbedModel(ctx, o.EmbedModel); err != nil {
		return nil, err
	}
	v, err := ix.Vectors(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := v.EmbedMissing(ctx, o.Embed, 32); err != nil {
		return nil, err
	}
	s.vecs = v
	return s, nil
}

// Options returns the settings the searcher runs with, defaults filled in.
func (s *Searcher) Options() SearchOptions { return s.o }

// Search returns the best K chunks for query.
func (s *Searcher) Search(ctx context.Context, query string) ([]Hit, error) {
	// Fusion needs more than K from each list, or a chunk ranked K+1 by
	// both lists could never surface.
	depth := max(4*s.o.K, 20)
	switch s.o.Mode {
	case ModeBM25:
		return s.ix.Search(ctx, query, s.o.K)
	case ModeVector:
		return s.vector(ctx, query, s.o.K)
	}
	bm, err := s.ix.Search(ctx, query, depth)
	if err != nil {
		return nil, err
	}
	vec, err := s.vector(ctx, query, depth)
	if err != nil {
		return nil, err
	}
	w := s.o.Weight
	if w == 0 {
		w = 0.5
	}
	return FuseWeighted([][]Hit{bm, vec}, []float64{1 - w, w}, s.o.K, 0), nil
}

func (s *Searcher) vector(ctx context.Context, query string, k int) ([]Hit, error) {
	if strings.TrimSpace(query) == "" {
		return nil, nil
	}
	qv, err := s.o.Embed(ctx, []string{query})
	if err != nil {
		return nil, fmt.Errorf("embed query: %w", err)
	}
	if len(qv) != 1 {
		return nil, fmt.Errorf("embed query: got %d vectors for 1 text", len(qv))
	}
	return s.vecs.Search(ctx, qv[0], k)
}

// useEmbedModel drops stored embeddings made by another model than model,
// so vectors of two models are never searched together.
func (ix *Index) useEmbedModel(ctx context.Context, model string) error {
	var have string
	err := ix.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'embed_model'`).Scan(&have)
	switch {
	case err == nil && have == model:
		return nil
	case err != nil && !errors.Is(err, errNoRowsSentinel):
		return fmt.Errorf("read embedding model of %s: %w", ix.path, err)
	}
	if _, err := ix.db.ExecContext(ctx, `DELETE FROM embeddings`); err != nil {
		return fmt.Errorf("drop embeddings of %s: %w", ix.path, err)
	}
	ix.mu.Lock()
	ix.vec = nil
	ix.mu.Unlock()
	if _, err := ix.db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('embed_model', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, model); err != nil {
		return fmt.Errorf("record embedding model of %s: %w", ix.path, err)
	}
	return nil
}
