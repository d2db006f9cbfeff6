package engine

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"unsafe"

	"github.com/tunelab/tunelab/internal/gguf"
)

// Adapter is a LoRA adapter loaded on top of a model. Generation applies
// it only when a request names it (GenerateOptions.Adapters), so one
// loaded model serves the base and any number of adapters.
type Adapter struct {
	m    *Model
	path string
	ca   *C.struct_llama_adapter_lora

	// life is held shared by each request that applies the adapter and
	// exclusively by Close.
	life   sync.RWMutex
	closed bool
}

// LoadAdapter checks and loads a LoRA adapter in llama.cpp's GGUF format.
func (m *Model) LoadAdapter(path string) (*Adapter, error) {
	if err := m.acquire(); err != nil {
		return nil, err
	}
	defer m.life.RUnlock()
	if err := checkAdapterFile(path, m.info.Architecture); err != nil {
		return nil, err
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	C.tl_clear_error()
	ca := C.tl_adapter_load(m.cm, cpath)
	if ca == nil {
		return nil, fmt.Errorf("load adapter %s: %s", path, withDetail("llama.cpp refused it"))
	}
	a := &Adapter{m: m, path: path, ca: ca}
	m.mu.Lock()
	m.adapters[a] = true
	m.mu.Unlock()
	return a, nil
}

// Path is the file the adapter was loaded from.
func (a *Adapter) Path() string { return a.path }

// Close waits for requests using the adapter to finish and frees it.
func (a *Adapter) Close() error {
	m := a.m
	// The model's lock is taken before the adapter's, in the same order
	// as requests take them, so Close cannot deadlock with them.
	if err := m.acquire(); err != nil {
		return nil // the model was closed, which freed its adapters
	}
	defer m.life.RUnlock()
	a.life.Lock()
	defer a.life.Unlock()
	if a.closed {
		return nil
	}
	m.mu.Lock()
	delete(m.adapters, a)
	m.mu.Unlock()
	// Requests return their context before releasing the adapter, so
	// every context that used it is idle now.
	m.pool.dropAdapter(a)
	a.closed = true
	C.llama_adapter_lora_free(a.ca)
	a.ca = nil
	return nil
}

// free is Close for a model that is closing (no request is running).
func (a *Adapter) free() {
	a.life.Lock()
	defer a.life.Unlock()
	if !a.closed {
		a.closed = true
		C.llama_adapter_lora_free(a.ca)
		a.ca = nil
	}
}

// holdAdapters keeps the adapters from being closed during a request.
func holdAdapters(uses []AdapterUse) (func(), error) {
	var held []*Adapter
	release := func() {
		for _, a := range held {
			a.life.RUnlock()
		}
	}
	for _, u := range uses {
		if u.Adapter == nil {
			release()
			return nil, errors.New("generate: nil adapter")
		}
		u.Adapter.life.RLock()
		if u.Adapter.closed {
			u.Adapter.life.RUnlock()
			release()
			return nil, fmt.Errorf("adapter %s: %w", u.Adapter.path, ErrClosed)
		}
		held = append(held, u.Adapter)
	}
	return release, nil
}

// checkAdapterFile refuses files that are not LoRA adapters for arch.
func checkAdapterFile(path, arch string) error {
	h, err := gguf.ReadHeader(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("load adapter: %s does not exist; check the adapter path", path)
	case err != nil:
		return fmt.Errorf("load adapter: %w", err)
	}
	if t, _ := h.String("general.type"); t != "adapter" {
		return fmt.Errorf("load adapter %s: %w: general.type is %q, want \"adapter\" (is it a model rather than an adapter?)", path, ErrUnsupported, t)
	}
	if t, _ := h.String("adapter.type"); t != "lora" {
		return fmt.Errorf("load adapter %s: %w: adapter.type is %q, want \"lora\"", path, ErrUnsupported, t)
	}
	if a := h.Architecture(); a != arch {
		return fmt.Errorf("load adapter %s: it was made for a %q model, this model is %q", path, a, arch)
	}
	for _, t := range h.Tensors {
		if !strings.HasSuffix(t.Name, ".lora_a") && !strings.HasSuffix(t.Name, ".lora_b") {
			return fmt.Errorf("load adapter %s: %w: tensor %s is neither a lora_a nor a lora_b", path, gguf.ErrInvalid, t.Name)
		}
	}
	return nil
}
