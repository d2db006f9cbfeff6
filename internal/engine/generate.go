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
	"time"
	"unsafe"
)

// DefaultMaxTokens bounds a generation when the caller sets no limit.
const DefaultMaxTokens = 256

// AdapterUse applies a loaded adapter at a scale (1 is as trained).
type AdapterUse struct {
	Adapter *Adapter
	Scale   float32
}

// GenerateOptions control one generation.
type GenerateOptions struct {
	// MaxTokens bounds the output; 0 means DefaultMaxTokens.
	MaxTokens int
	// Temperature 0 (or less) picks the most likely token every time,
	// which makes output reproducible; above 0 samples.
	Temperature float64
	// TopP keeps the smallest set of tokens whose probability adds up to
	// it (0 or 1: all); TopK keeps the K most likely (0: all).
	TopP float64
	TopK int
	// Seed makes sampling reproducible.
	Seed uint32
	// Stop ends the output before the first occurrence of any of these.
	Stop []string
	// Grammar, in llama.cpp's GBNF with a rule named root, constrains the
	// output; GrammarFromJSONSchema makes one from a JSON Schema.
	Grammar  string
	Adapters []AdapterUse
}

// Result is what a generation produced.
type Result struct {
	Text         string
	PromptTokens int
	OutputTokens int
	// FinishReason is "stop" (end of generation token or a stop string)
	// or "length" (MaxTokens reached, or the context window is full).
	FinishReason     string
	PromptDuration   time.Duration
	GenerateDuration time.Duration
}

// Generate continues prompt. Control-token text in the prompt (such as a
// chat template's markers) becomes control tokens. onText, when not nil,
// receives the output piece by piece as it is produced, each piece whole
// UTF-8 and never part of a stop string.
func (m *Model) Generate(ctx context.Context, prompt string, opts GenerateOptions, onText func(string)) (*Result, error) {
	if err := m.acquire(); err != nil {
		return nil, err
	}
	defer m.life.RUnlock()
	toks, err := m.tokenize(prompt, true, true)
	if err != nil {
		return nil, err
	}
	return m.generate(ctx, toks, opts, onText)
}

// GenerateTokens is Generate for a prompt that is already tokenized.
func (m *Model) GenerateTokens(ctx context.Context, prompt []int32, opts GenerateOptions, onText func(string)) (*Result, error) {
	if err := m.acquire(); err != nil {
		return nil, err
	}
	defer m.life.RUnlock()
	return m.generate(ctx, prompt, opts, onText)
}

func (m *Model) generate(ctx context.Context, prompt []int32, opts GenerateOptions, onText func(string)) (*Result, error) {
	if err := m.checkTokens(prompt); err != nil {
		return nil, err
	}
	release, err := holdAdapters(opts.Adapters)
	if err != nil {
		return nil, err
	}
	defer release()
	maxTokens := opts.MaxTokens
	if maxTokens <= 0 {
		maxTokens = DefaultMaxTokens
	}

	s, err := m.pool.get(ctx, false, opts.Adapters)
	if err != nil {
		return nil, err
	}
	defer m.pool.put(s)
	if len(prompt) >= s.nCtx {
		return nil, fmt.Errorf("%w: the prompt is %d tokens and the context holds %d (with room for at least one new token); shorten the prompt or raise the context size", ErrContextOverflow, len(prompt), s.nCtx)
	}
	smpl, err := m.newSampler(opts)
	if err != nil {
		return nil, err
	}
	defer C.llama_sampler_free(smpl)
	releaseCPUs, err := holdCPUs(ctx, m.opts.Threads)
	if err != nil {
		return nil, err
	}
	defer releaseCPUs()

	res := &Result{PromptTokens: len(prompt), FinishReason: "length"}
	start := time.Now()
	C.tl_clear_error()
	rc := C.tl_decode_tokens(s.c, &s.batch, C.int32_t(s.cap), (*C.llama_token)(unsafe.Pointer(&prompt[0])), C.int32_t(len(prompt)), 0, false)
	if rc != 0 {
		return nil, decodeError("decode the prompt", rc)
	}
	res.PromptDuration = time.Since(start)

	start = time.Now()
	out := newTextOut(opts.Stop, onText)
	pos := len(prompt)
	for res.OutputTokens < maxTokens {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// The sampled token is decoded (to get the next logits) only when
		// another token will follow and the context has room for it.
		decode := res.OutputTokens+1 < maxTokens && pos < s.nCtx
		var tok C.llama_token
		rc := C.tl_step(s.c, smpl, &s.batch, C.int32_t(pos), C.bool(decode), &tok)
		if rc == 1 {
			res.FinishReason = "stop"
			break
		}
		if rc < 0 {
			return nil, decodeError("generate", rc)
		}
		res.OutputTokens++
		if out.add(m.pieces[tok]) {
			res.FinishReason = "stop"
			break
		}
		if !decode {
			break
		}
		pos++
	}
	res.Text = out.finish()
	res.GenerateDuration = time.Since(start)
	return res, nil
}

func (m *Model) checkTokens(toks []int32) error {
	if len(toks) == 0 {
		return errors.New("generate: the prompt is empty")
	}
	for _, t := range toks {
		if t < 0 || int(t) >= len(m.pieces) {
			return fmt.Errorf("generate: token %d is outside the vocabulary of %d", t, len(m.pieces))
		}
	}
	return nil
}

func (m *Model) newSampler(opts GenerateOptions) (*C.struct_llama_sampler, error) {
	var cgrammar *C.char
	if opts.Grammar != "" {
		cgrammar = C.CString(opts.Grammar)
		defer C.free(unsafe.Pointer(cgrammar))
	}
	C.tl_clear_error()
	smpl := C.tl_new_sampler(m.vocab, C.float(opts.Temperature), C.float(opts.TopP), C.int32_t(opts.TopK), C.uint32_t(opts.Seed), cgrammar)
	if smpl == nil {
		return nil, fmt.Errorf("generate: %s", withDetail("the grammar does not parse"))
	}
	return smpl, nil
}

// decodeError explains llama_decode's return codes (and the shim's).
func decodeError(what string, rc C.int32_t) error {
	switch {
	case rc == 1 || rc == -1001:
		return fmt.Errorf("%s: %w: no room left in the context's cache", what, ErrContextOverflow)
	case rc == 2 || rc == -1002:
		return fmt.Errorf("%s: aborted", what)
	case rc == -100:
		return fmt.Errorf("%s: %s", what, withDetail("llama.cpp failed"))
	}
	return fmt.Errorf("%s: %s", what, withDetail(fmt.Sprintf("llama_decode returned %d", int(rc))))
}
