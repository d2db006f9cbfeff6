// Package engine runs GGUF language models in-process through llama.cpp,
// compiled by cgo from the copy vendored in the github.com/ollama/ollama
// module. It is tunelab's local backend: load a model once, then generate
// (greedy, sampled or grammar-constrained), embed, apply LoRA adapters and
// quantize, from any number of goroutines.
//
// llama.cpp aborts the process on some malformed inputs, so every model and
// adapter file is checked with package gguf before it reaches C, and every
// C++ call that can throw is wrapped in the C shim (shim.cpp).
//
// Building needs llama.h on the include path and SIMD flags; see
// Makefile.engine.mk at the repository root (ENGINE_ENV).
package engine

/*
#cgo CXXFLAGS: -std=c++17
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"sync"
	"unsafe"

	// The llama.cpp library itself (and, through it, ggml).
	_ "github.com/ollama/ollama/llama/llama.cpp/src"
)

// Errors callers may want to tell apart with errors.Is.
var (
	// ErrContextOverflow means the prompt does not fit the context window.
	ErrContextOverflow = errors.New("prompt does not fit the context window")
	// ErrUnsupported means the file is a valid GGUF model of a kind this
	// engine cannot run (an encoder, a vision projector, an adapter, ...).
	ErrUnsupported = errors.New("unsupported model")
	// ErrClosed means the model or adapter was closed.
	ErrClosed = errors.New("model is closed")
)

var initOnce sync.Once

// ensureInit installs the log handler and initialises llama.cpp once.
// TUNELAB_ENGINE_LOG=1 shows llama.cpp's own log, for debugging.
func ensureInit() {
	initOnce.Do(func() {
		C.tl_init(C.bool(os.Getenv("TUNELAB_ENGINE_LOG") == "1"))
	})
}

// lastError is the message llama.cpp logged for the call that just failed,
// so errors say why ("tensor 'x' has wrong shape") and not only that.
func lastError() string {
	buf := make([]byte, 4200)
	C.tl_last_error((*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	return strings.TrimSpace(C.GoString((*C.char)(unsafe.Pointer(&buf[0]))))
}

func withDetail(msg string) string {
	if d := lastError(); d != "" {
		return msg + ": " + d
	}
	return msg
}

// Build describes the compiled engine.
type Build struct {
	// Module is the Go module llama.cpp was compiled from, with version.
	Module string
	// Features are the CPU instruction sets the kernels were compiled
	// for, e.g. AVX2 FMA F16C. Without AVX2 (x86) or NEON (ARM) the
	// engine is many times slower: build with Makefile.engine.mk.
	Features []string
	// SystemInfo is llama.cpp's own summary line.
	SystemInfo string
}

// Optimized reports whether the kernels were compiled with the vector
// instructions that make inference usable.
func (b Build) Optimized() bool {
	for _, f := range b.Features {
		if f == "AVX2" || f == "NEON" {
			return true
		}
	}
	return false
}

func (b Build) String() string {
	s := fmt.Sprintf("llama.cpp from %s, CPU features: %s", b.Module, strings.Join(b.Features, " "))
	if !b.Optimized() {
		s += " (built without SIMD flags: expect slow inference; build with make)"
	}
	return s
}

// BuildInfo reports how the engine was compiled.
func BuildInfo() Build {
	ensureInit()
	buf := make([]byte, 512)
	C.tl_cpu_features((*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	b := Build{
		Module:     "github.com/ollama/ollama (version unknown)",
		Features:   strings.Fields(C.GoString((*C.char)(unsafe.Pointer(&buf[0])))),
		SystemInfo: strings.TrimSpace(C.GoString(C.llama_print_system_info())),
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/ollama/ollama" {
				b.Module = d.Path + " " + d.Version
			}
		}
	}
	return b
}
