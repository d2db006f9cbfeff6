package engine

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// maxEmbedContext caps the embedding context: embeddings are pooled over
// one batch, so its whole window is allocated as one batch, and retrieval
// chunks are far shorter than this.
const maxEmbedContext = 2048

// slot is one llama.cpp context with its batch buffer. A context is bound
// to the adapter set it was made with: llama.cpp reuses a compiled graph
// when the batch shape repeats and does not notice a changed adapter set,
// so a request with other adapters gets a fresh context instead.
type slot struct {
	c     *C.struct_llama_context
	batch C.struct_llama_batch
	cap   int // tokens per decode call
	nCtx  int
	embed bool
	key   string
	inUse []AdapterUse
}

// pool hands out contexts, at most Parallel generation contexts and one
// embedding context at a time, and frees them on close. It keeps up to
// twice Parallel generation contexts, so a run that alternates between a
// base model and one adapter (the usual fine-tuning comparison) does not
// rebuild a context on every switch.
type pool struct {
	m        *Model
	genSlots chan struct{}
	embSlots chan struct{}
	maxGen   int

	mu      sync.Mutex
	idle    []*slot // most recently used last
	idleEmb []*slot
	nGen    int // generation contexts that exist, idle or not
}

func newPool(m *Model) *pool {
	return &pool{
		m:        m,
		genSlots: make(chan struct{}, m.opts.Parallel),
		embSlots: make(chan struct{}, 1),
		maxGen:   2 * m.opts.Parallel,
	}
}

func adapterKey(uses []AdapterUse) string {
	var sb strings.Builder
	for _, u := range uses {
		fmt.Fprintf(&sb, "%p:%g;", u.Adapter, u.Scale)
	}
	return sb.String()
}

// get waits for a free context (or ctx's end) and returns one with the
// given adapters applied and an empty cache.
func (p *pool) get(ctx context.Context, embed bool, uses []AdapterUse) (*slot, error) {
	sem := p.genSlots
	if embed {
		sem = p.embSlots
	}
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	key := adapterKey(uses)

	p.mu.Lock()
	idle := &p.idle
	if embed {
		idle = &p.idleEmb
	}
	var s *slot
	for i, cand := range *idle {
		if cand.key == key {
			s = cand
			*idle = append((*idle)[:i], (*idle)[i+1:]...)
			break
		}
	}
	var stale *slot
	if s == nil && len(*idle) > 0 && (embed || p.nGen >= p.maxGen) {
		// At the limit: the least recently used idle context, made for
		// other adapters, makes room for a new one.
		stale = (*idle)[0]
		*idle = (*idle)[1:]
		if !embed {
			p.nGen--
		}
	}
	if s == nil && !embed {
		p.nGen++ // counted now so concurrent gets respect the limit
	}
	p.mu.Unlock()

	if stale != nil {
		stale.free()
	}
	if s == nil {
		var err error
		if s, err = p.newSlot(embed, uses); err != nil {
			if !embed {
				p.mu.Lock()
				p.nGen--
				p.mu.Unlock()
			}
			<-sem
			return nil, err
		}
		s.key = key
	}
	C.llama_memory_clear(C.llama_get_memory(s.c), true)
	return s, nil
}

func (p *pool) newSlot(embed bool, uses []AdapterUse) (*slot, error) {
	o := p.m.opts
	nCtx, nBatch := o.ContextSize, o.BatchSize
	if embed {
		nCtx = min(nCtx, maxEmbedContext)
		nBatch = nCtx
	}
	C.tl_clear_error()
	c := C.tl_new_context(p.m.cm, C.uint32_t(nCtx), C.uint32_t(nBatch), C.int32_t(o.Threads), C.bool(embed))
	if c == nil {
		return nil, fmt.Errorf("%s: %s", p.m.info.Path, withDetail(fmt.Sprintf("create a context of %d tokens", nCtx)))
	}
	// llama.cpp rounds the cache up (to 256 tokens); the limit callers
	// asked for is the one they get, so results do not depend on padding.
	nCtx = min(nCtx, int(C.llama_n_ctx(c)))
	s := &slot{c: c, batch: C.llama_batch_init(C.int32_t(nBatch), 0, 1), cap: nBatch, nCtx: nCtx, embed: embed, inUse: uses}
	for _, u := range uses {
		C.llama_set_adapter_lora(c, u.Adapter.ca, C.float(u.Scale))
	}
	// A context's first decode pays one-off costs (compute buffers, the
	// thread pool, paging the weights in): seconds on a small model, which
	// showed up as a p95 latency 100x the median. Pay them here, so a
	// call's measured latency is the model's steady-state speed, as a
	// server with warm contexts would see it.
	if !embed {
		warm := []C.llama_token{C.llama_token(max(0, int(C.llama_vocab_bos(C.llama_model_get_vocab(p.m.cm)))))}
		if rc := C.tl_decode_tokens(c, &s.batch, C.int32_t(nBatch), &warm[0], 1, 0, false); rc != 0 {
			s.free()
			return nil, decodeError("warm up a context", rc)
		}
		C.llama_memory_clear(C.llama_get_memory(c), true)
	}
	return s, nil
}

func (p *pool) put(s *slot) {
	p.mu.Lock()
	if s.embed {
		p.idleEmb = append(p.idleEmb, s)
	} else {
		p.idle = append(p.idle, s)
	}
	p.mu.Unlock()
	if s.embed {
		<-p.embSlots
	} else {
		<-p.genSlots
	}
}

// dropAdapter frees the idle contexts that use a, before a is freed.
func (p *pool) dropAdapter(a *Adapter) {
	p.mu.Lock()
	var drop []*slot
	keep := func(list []*slot) []*slot {
		out := list[:0]
		for _, s := range list {
			if s.uses(a) {
				drop = append(drop, s)
			} else {
				out = append(out, s)
			}
		}
		return out
	}
	p.idle = keep(p.idle)
	p.idleEmb = keep(p.idleEmb)
	for _, s := range drop {
		if !s.embed {
			p.nGen--
		}
	}
	p.mu.Unlock()
	for _, s := range drop {
		s.free()
	}
}

// close frees every context; the model's lock guarantees none is in use.
func (p *pool) close() {
	p.mu.Lock()
	all := append(p.idle, p.idleEmb...)
	p.idle, p.idleEmb, p.nGen = nil, nil, 0
	p.mu.Unlock()
	for _, s := range all {
		s.free()
	}
}

func (s *slot) uses(a *Adapter) bool {
	for _, u := range s.inUse {
		if u.Adapter == a {
			return true
		}
	}
	return false
}

func (s *slot) free() {
	C.llama_batch_free(s.batch)
	C.llama_free(s.c)
	s.c = nil
}
