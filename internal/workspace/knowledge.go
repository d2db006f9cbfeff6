package workspace

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
	"github.com/tunelab/tunelab/internal/retrieval"
)

// Knowledge is the lab's knowledge index, synced with its knowledge:
// folders when the workspace first needed it.
type Knowledge struct {
	Index  *retrieval.Index
	Report *retrieval.SyncReport
}

// Knowledge opens the lab's knowledge index and brings it up to date with
// the knowledge: folders (only changed files are re-indexed; an index
// built with other chunk settings is rebuilt). It is done once per
// workspace; Close closes the index.
func (w *Workspace) Knowledge(ctx context.Context) (*Knowledge, error) {
	w.kmu.Lock()
	defer w.kmu.Unlock()
	if w.knowledge != nil {
		return w.knowledge, nil
	}
	k, err := SyncKnowledge(ctx, w.Config)
	if err != nil {
		return nil, err
	}
	w.knowledge = k
	return k, nil
}

// SyncKnowledge opens the knowledge index of the lab c describes and syncs
// it with its folders. The caller closes k.Index.
func SyncKnowledge(ctx context.Context, c *config.Config) (*Knowledge, error) {
	if len(c.Knowledge) == 0 {
		return nil, c.Errorf("knowledge", "the lab has no knowledge: add `knowledge: [docs/]` with the folders that hold it")
	}
	ix, err := retrieval.OpenIndex(c.KnowledgeIndexPath())
	if err != nil {
		return nil, err
	}
	rep, err := retrieval.Sync(ctx, ix, retrieval.SyncOptions{
		Root: c.Dir, Sources: c.Knowledge,
		Chunk: retrieval.ChunkOptions{MaxTokens: c.Retrieval.ChunkTokens, Overlap: c.Retrieval.Overlap},
	})
	if err != nil {
		ix.Close()
		return nil, fmt.Errorf("%s: %w", c.Path, err)
	}
	return &Knowledge{Index: ix, Report: rep}, nil
}

// groundJudgeKey names the groundedness judge among a run's versions, so
// that runs judged by another model (or by word overlap) are other runs.
const groundJudgeKey = "retrieval.judge"

// groundJudge returns the judge of retrieval answers' groundedness
// (retrieval.judge), nil when none is set. Its provider is built as a
// judge scorer's is, with the model's settings when the config lists it,
// and shared through byModel with candidates of the same model.
func (w *Workspace) groundJudge(byModel map[string]provider.Provider, specs map[string]config.ModelSpec) (*eval.GroundJudge, error) {
	model := w.Config.Retrieval.Judge
	if model == "" {
		return nil, nil
	}
	p, ok := byModel[model]
	if !ok {
		var err error
		if p, err = w.provider(model, specs[model]); err != nil {
			return nil, w.Config.Errorf("retrieval.judge", "%v", err)
		}
		byModel[model] = p
	}
	return &eval.GroundJudge{Model: model, Provider: p}, nil
}

// usesRetrieval reports whether any prompt of the config retrieves.
func usesRetrieval(c *config.Config) bool {
	for _, p := range c.Prompts {
		if p.Retrieval.On() {
			return true
		}
	}
	return false
}

// knowledgeVersion is the synced index's version ("" before a sync).
func (w *Workspace) knowledgeVersion() string {
	w.kmu.Lock()
	defer w.kmu.Unlock()
	if w.knowledge == nil {
		return ""
	}
	return w.knowledge.Report.Version
}

// retriever returns the search for one retrieval setting, shared by every
// candidate that uses it. Vector and hybrid searches embed the chunks on
// their first query, in that call's context.
func (w *Workspace) retriever(r *lab.Retrieval) (func(ctx context.Context, query string) ([]retrieval.Hit, error), error) {
	key, _ := json.Marshal(r) // plain data always marshals
	w.kmu.Lock()
	defer w.kmu.Unlock()
	if s, ok := w.searchers[string(key)]; ok {
		return s.search, nil
	}
	if w.knowledge == nil {
		return nil, fmt.Errorf("retrieval: the knowledge index is not open (a bug: call Knowledge first)")
	}
	opts := retrieval.SearchOptions{Mode: r.Mode, K: r.K, Weight: r.Weight, EmbedModel: r.Embed}
	if r.Mode != lab.RetrieveBM25 {
		p, err := w.provider(r.Embed, config.ModelSpec{Model: r.Embed})
		if err != nil {
			return nil, w.Config.Errorf("retrieval.embed", "%v", err)
		}
		e, ok := p.(provider.Embedder)
		if !ok {
			return nil, w.Config.Errorf("retrieval.embed", "%s cannot compute embeddings: choose a model whose provider can", r.Embed)
		}
		ref, _ := provider.ParseRef(r.Embed) // validated when the config was read
		opts.Embed = func(ctx context.Context, texts []string) ([][]float32, error) {
			vecs, _, err := e.Embed(ctx, ref.Model, texts)
			return vecs, err
		}
	}
	s := &lazySearcher{ix: w.knowledge.Index, opts: opts}
	if r.Rerank != "" {
		p, err := w.provider(r.Rerank, config.ModelSpec{Model: r.Rerank})
		if err != nil {
			return nil, w.Config.Errorf("retrieval.rerank", "%v", err)
		}
		s.opts.K = r.Candidates
		cacheAs := "rerank:" + r.Rerank
		if v := w.modelVersion(r.Rerank); v != "" {
			cacheAs += "@" + v
		}
		s.rerank = &reranker{model: r.Rerank, cacheAs: cacheAs, p: p, store: w.Store, k: r.K}
	}
	if w.searchers == nil {
		w.searchers = map[string]*lazySearcher{}
	}
	w.searchers[string(key)] = s
	return s.search, nil
}

// Searcher returns the search a prompt with retrieval settings p gets
// (nil: the lab's own settings) over the synced knowledge index, the same
// function an evaluation calls, reranker included, with the settings it
// resolved to.
func (w *Workspace) Searcher(ctx context.Context, p *config.PromptRetrieval) (eval.Retrieve, *lab.Retrieval, error) {
	if _, err := w.Knowledge(ctx); err != nil {
		return nil, nil, err
	}
	if p == nil {
		p = config.NewPromptRetrieval("", 0, 0)
	}
	r := w.Config.Search(p, w.knowledgeVersion())
	s, err := w.retriever(r)
	if err != nil {
		return nil, nil, err
	}
	return s, r, nil
}

// lazySearcher prepares its Searcher on the first query, so that opening
// a lab never embeds a knowledge base nobody searches.
type lazySearcher struct {
	ix     *retrieval.Index
	opts   retrieval.SearchOptions
	rerank *reranker // nil: the search's order is final
	mu     sync.Mutex
	s      *retrieval.Searcher
}

func (l *lazySearcher) search(ctx context.Context, query string) ([]retrieval.Hit, error) {
	l.mu.Lock()
	if l.s == nil {
		s, err := retrieval.NewSearcher(ctx, l.ix, l.opts)
		if err != nil {
			l.mu.Unlock()
			return nil, err
		}
		l.s = s
	}
	s := l.s
	l.mu.Unlock()
	hits, err := s.Search(ctx, query)
	if err != nil || l.rerank == nil {
		return hits, err
	}
	return l.rerank.order(ctx, query, hits)
}

// reranker has a model order the search's candidates (see
// retrieval.RerankPrompt) and keeps the first k. Its calls share the
// lab's response cache, so a resumed or repeated run asks again only
// what it never asked.
type reranker struct {
	model string
	// cacheAs names the model in cache keys: with a local model's file
	// fingerprint, as the runner keys its calls, so a retrained file does
	// not reuse its predecessor's rankings.
	cacheAs string
	p       provider.Provider
	store   lab.Store
	k       int
}

func (r *reranker) order(ctx context.Context, query string, hits []retrieval.Hit) ([]retrieval.Hit, error) {
	if len(hits) <= 1 {
		return hits, nil
	}
	system, user, schema := retrieval.RerankPrompt(query, hits)
	ref, _ := provider.ParseRef(r.model) // validated when the config was read
	zero := 0.0
	req := provider.Request{Model: ref.Model, Temperature: &zero, MaxTokens: 48 + 16*len(hits), // ids, and a small model's whitespace between them
		JSONSchema: schema, SchemaName: "ranking",
		Messages: []provider.Message{{Role: "system", Content: system}, {Role: "user", Content: user}}}
	key := eval.CacheKey(r.cacheAs, req, -1)
	// A cache that cannot be read is a miss, as for every model call.
	resp, cached, err := r.store.CacheGet(ctx, key)
	if err != nil || !cached {
		cached = false
		if resp, err = r.p.Complete(ctx, req); err != nil {
			// Naming the count says what to lower when the prompt is too
			// long for the reranker's context.
			return nil, fmt.Errorf("rerank %d chunks (retrieval.rerank_candidates) with %s: %w", len(hits), r.model, err)
		}
	}
	ordered, err := retrieval.ParseRerank(resp.Text, hits)
	if err != nil {
		// Not cached, as for the groundedness judge: an unreadable reply
		// is asked for again next time.
		return nil, fmt.Errorf("rerank with %s: %w", r.model, err)
	}
	if !cached {
		if err := r.store.CachePut(ctx, key, resp); err != nil {
			return nil, fmt.Errorf("rerank with %s: cache the answer: %w", r.model, err)
		}
	}
	return ordered[:min(r.k, len(ordered))], nil
}
