package engine

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"unsafe"
)

// Embed returns the mean of the model's last hidden states over the
// tokens of text, scaled to unit length (so a dot product is the cosine
// similarity), and the number of tokens it read.
func (m *Model) Embed(ctx context.Context, text string) ([]float32, int, error) {
	if err := m.acquire(); err != nil {
		return nil, 0, err
	}
	defer m.life.RUnlock()
	if strings.TrimSpace(text) == "" {
		return nil, 0, errors.New("embed: the text is empty")
	}
	toks, err := m.tokenize(text, true, false)
	if err != nil {
		return nil, 0, err
	}
	s, err := m.pool.get(ctx, true, nil)
	if err != nil {
		return nil, 0, err
	}
	defer m.pool.put(s)
	if len(toks) > s.nCtx {
		return nil, 0, fmt.Errorf("embed: %w: the text is %d tokens, embeddings take at most %d; split it into smaller chunks", ErrContextOverflow, len(toks), s.nCtx)
	}
	C.tl_clear_error()
	rc := C.tl_decode_tokens(s.c, &s.batch, C.int32_t(s.cap), (*C.llama_token)(unsafe.Pointer(&toks[0])), C.int32_t(len(toks)), 0, true)
	if rc != 0 {
		return nil, 0, decodeError("embed", rc)
	}
	p := C.llama_get_embeddings_seq(s.c, 0)
	if p == nil {
		return nil, 0, fmt.Errorf("embed: %s", withDetail("llama.cpp returned no pooled embedding"))
	}
	n := m.info.EmbeddingSize
	vec := make([]float32, n)
	copy(vec, unsafe.Slice((*float32)(unsafe.Pointer(p)), n))
	var norm float64
	for _, v := range vec {
		norm += float64(v) * float64(v)
	}
	if norm = math.Sqrt(norm); norm > 0 {
		for i := range vec {
			vec[i] = float32(float64(vec[i]) / norm)
		}
	}
	return vec, len(toks), nil
}

// Logits returns the scores the model gives every vocabulary token as the
// next one after tokens, with the given adapters applied.
func (m *Model) Logits(ctx context.Context, tokens []int32, adapters []AdapterUse) ([]float32, error) {
	if err := m.acquire(); err != nil {
		return nil, err
	}
	defer m.life.RUnlock()
	if err := m.checkTokens(tokens); err != nil {
		return nil, err
	}
	release, err := holdAdapters(adapters)
	if err != nil {
		return nil, err
	}
	defer release()
	s, err := m.pool.get(ctx, false, adapters)
	if err != nil {
		return nil, err
	}
	defer m.pool.put(s)
	if len(tokens) > s.nCtx {
		return nil, fmt.Errorf("logits: %w: %d tokens, the context holds %d", ErrContextOverflow, len(tokens), s.nCtx)
	}
	C.tl_clear_error()
	rc := C.tl_decode_tokens(s.c, &s.batch, C.int32_t(s.cap), (*C.llama_token)(unsafe.Pointer(&tokens[0])), C.int32_t(len(tokens)), 0, false)
	if rc != 0 {
		return nil, decodeError("logits", rc)
	}
	p := C.llama_get_logits_ith(s.c, -1)
	if p == nil {
		return nil, fmt.Errorf("logits: %s", withDetail("llama.cpp returned none"))
	}
	out := make([]float32, m.info.VocabSize)
	copy(out, unsafe.Slice((*float32)(unsafe.Pointer(p)), len(out)))
	return out, nil
}
