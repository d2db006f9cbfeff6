package engine

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/tunelab/tunelab/internal/gguf"
)

// Options tune how a model runs.
type Options struct {
	// Threads used for decoding; 0 means one per CPU.
	Threads int
	// ContextSize is the context window in tokens; 0 means the model's
	// trained length, capped at 4096 to keep memory modest.
	ContextSize int
	// BatchSize is how many prompt tokens are decoded per step; 0 means 512.
	BatchSize int
	// Parallel is how many requests may run at once, each in its own
	// context (more memory for the KV caches); 0 means 1. On a CPU with
	// few cores more than one mostly adds memory, not speed.
	Parallel int
	// NoMmap reads the weights into memory instead of mapping the file.
	NoMmap bool
}

func (o Options) withDefaults(trainCtx int) Options {
	if o.Threads <= 0 {
		o.Threads = runtime.NumCPU()
	}
	if o.ContextSize <= 0 {
		o.ContextSize = min(trainCtx, 4096)
		if o.ContextSize <= 0 {
			o.ContextSize = 2048
		}
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 512
	}
	o.BatchSize = min(o.BatchSize, o.ContextSize)
	if o.Parallel <= 0 {
		o.Parallel = 1
	}
	return o
}

// Info describes a loaded model.
type Info struct {
	Path         string `json:"path"`
	Architecture string `json:"architecture"`
	Name         string `json:"name,omitempty"`
	// Description is llama.cpp's one-line summary, e.g. "llama ?B Q8_0".
	Description   string `json:"description"`
	Params        uint64 `json:"params"`
	SizeBytes     uint64 `json:"size_bytes"`
	ContextLength int    `json:"context_length"` // as trained
	VocabSize     int    `json:"vocab_size"`
	EmbeddingSize int    `json:"embedding_size"`
	Layers        int    `json:"layers"`
	Heads         int    `json:"heads"`
	// FileType is the weights' quantization, e.g. "Q8_0", "F16".
	FileType     string `json:"file_type"`
	ChatTemplate string `json:"chat_template,omitempty"`
}

// Model is a loaded model. It is safe for concurrent use; Close frees it.
type Model struct {
	info  Info
	opts  Options
	cm    *C.struct_llama_model
	vocab *C.struct_llama_vocab
	// pieces[t] is the text of token t, as generation appends it.
	pieces [][]byte
	pool   *pool

	// life is held shared by every call and exclusively by Close, so
	// nothing is freed while a call still uses it.
	life   sync.RWMutex
	closed bool

	mu       sync.Mutex // guards adapters
	adapters map[*Adapter]bool
}

// Load checks the file at path and loads it.
func Load(path string, opts Options) (*Model, error) {
	ensureInit()
	h, err := checkModelFile(path)
	if err != nil {
		return nil, err
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	C.tl_clear_error()
	cm := C.tl_load_model(cpath, C.bool(!opts.NoMmap))
	if cm == nil {
		return nil, fmt.Errorf("load model %s: %s", path, withDetail("llama.cpp could not load it"))
	}
	m := &Model{cm: cm, vocab: C.llama_model_get_vocab(cm), adapters: map[*Adapter]bool{}}
	m.info = m.readInfo(path, h)
	m.opts = opts.withDefaults(m.info.ContextLength)
	m.pieces = m.tokenPieces()
	m.pool = newPool(m)
	return m, nil
}

func (m *Model) readInfo(path string, h *gguf.Header) Info {
	buf := make([]byte, 256)
	C.llama_model_desc(m.cm, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	info := Info{
		Path:          path,
		Architecture:  h.Architecture(),
		Description:   C.GoString((*C.char)(unsafe.Pointer(&buf[0]))),
		Params:        uint64(C.llama_model_n_params(m.cm)),
		SizeBytes:     uint64(C.llama_model_size(m.cm)),
		ContextLength: int(C.llama_model_n_ctx_train(m.cm)),
		VocabSize:     int(C.llama_vocab_n_tokens(m.vocab)),
		EmbeddingSize: int(C.llama_model_n_embd(m.cm)),
		Layers:        int(C.llama_model_n_layer(m.cm)),
		Heads:         int(C.llama_model_n_head(m.cm)),
		FileType:      fileType(h),
	}
	info.Name, _ = h.String("general.name")
	if t := C.llama_model_chat_template(m.cm, nil); t != nil {
		info.ChatTemplate = C.GoString(t)
	}
	return info
}

// Info describes the model.
func (m *Model) Info() Info { return m.info }

// Options are the settings the model runs with, defaults filled in.
func (m *Model) Options() Options { return m.opts }

// tokenPieces renders every token once, so generation turns tokens into
// text without a C call per token. Control tokens render as nothing.
func (m *Model) tokenPieces() [][]byte {
	n := int(C.llama_vocab_n_tokens(m.vocab))
	out := make([][]byte, n)
	buf := make([]byte, 256)
	for t := range n {
		k := C.llama_token_to_piece(m.vocab, C.llama_token(t), (*C.char)(unsafe.Pointer(&buf[0])), C.int32_t(len(buf)), 0, false)
		if k < 0 { // longer than the buffer: ask again with the size it needs
			big := make([]byte, -k)
			k = C.llama_token_to_piece(m.vocab, C.llama_token(t), (*C.char)(unsafe.Pointer(&big[0])), C.int32_t(len(big)), 0, false)
			out[t] = append([]byte(nil), big[:max(k, 0)]...)
			continue
		}
		out[t] = append([]byte(nil), buf[:k]...)
	}
	return out
}

// Tokenize turns text into token ids. addSpecial adds the model's start
// token where it wants one; parseSpecial turns control-token text such as
// "<|im_start|>" into that token instead of spelling it out.
func (m *Model) Tokenize(text string, addSpecial, parseSpecial bool) ([]int32, error) {
	if err := m.acquire(); err != nil {
		return nil, err
	}
	defer m.life.RUnlock()
	return m.tokenize(text, addSpecial, parseSpecial)
}

func (m *Model) tokenize(text string, addSpecial, parseSpecial bool) ([]int32, error) {
	if len(text) > 1<<26 {
		return nil, fmt.Errorf("tokenize: text of %d bytes is too long", len(text))
	}
	ctext := C.CString(text)
	defer C.free(unsafe.Pointer(ctext))
	toks := make([]int32, len(text)+2)
	n := C.llama_tokenize(m.vocab, ctext, C.int32_t(len(text)), (*C.llama_token)(unsafe.Pointer(&toks[0])), C.int32_t(len(toks)), C.bool(addSpecial), C.bool(parseSpecial))
	if n < 0 {
		toks = make([]int32, -n)
		n = C.llama_tokenize(m.vocab, ctext, C.int32_t(len(text)), (*C.llama_token)(unsafe.Pointer(&toks[0])), C.int32_t(len(toks)), C.bool(addSpecial), C.bool(parseSpecial))
	}
	if n < 0 {
		return nil, fmt.Errorf("tokenize %d bytes of text: llama.cpp returned %d", len(text), int(n))
	}
	return toks[:n], nil
}

// Detokenize turns token ids back into text, the inverse of Tokenize:
// control tokens render as nothing, and the space the tokenizer put in
// front of the text is taken off again.
func (m *Model) Detokenize(tokens []int32) (string, error) {
	if err := m.acquire(); err != nil {
		return "", err
	}
	defer m.life.RUnlock()
	if len(tokens) == 0 {
		return "", nil
	}
	size := 0
	for _, t := range tokens {
		if t < 0 || int(t) >= len(m.pieces) {
			return "", fmt.Errorf("detokenize: token %d is outside the vocabulary of %d", t, len(m.pieces))
		}
		size += len(m.pieces[t])
	}
	buf := make([]byte, size+16)
	n := C.llama_detokenize(m.vocab, (*C.llama_token)(unsafe.Pointer(&tokens[0])), C.int32_t(len(tokens)), (*C.char)(unsafe.Pointer(&buf[0])), C.int32_t(len(buf)), false, false)
	if n < 0 {
		return "", fmt.Errorf("detokenize %d tokens: llama.cpp needed %d bytes", len(tokens), -int(n))
	}
	return string(buf[:n]), nil
}

// IsEndOfGeneration reports whether token t ends a generation (EOS, end of
// turn, ...).
func (m *Model) IsEndOfGeneration(t int32) bool {
	return t >= 0 && int(t) < len(m.pieces) && bool(C.llama_vocab_is_eog(m.vocab, C.llama_token(t)))
}

// acquire holds the model open for one call; the caller releases it with
// m.life.RUnlock. Calls must not nest: a waiting Close would deadlock them.
func (m *Model) acquire() error {
	m.life.RLock()
	if m.closed {
		m.life.RUnlock()
		return fmt.Errorf("%s: %w", m.info.Path, ErrClosed)
	}
	return nil
}

// Close waits for running calls to finish, then frees the contexts,
// adapters and weights. Calls after Close return ErrClosed; calling it
// twice is harmless.
func (m *Model) Close() error {
	m.life.Lock()
	defer m.life.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	m.pool.close()
	m.mu.Lock()
	adapters := m.adapters
	m.adapters = nil
	m.mu.Unlock()
	for a := range adapters {
		a.free()
	}
	C.llama_model_free(m.cm)
	m.cm = nil
	return nil
}
