# The local engine's build environment, included by the main Makefile.
#
# internal/engine binds llama.cpp through cgo from the copy vendored in the
# Go module github.com/ollama/ollama. Two things need the environment:
#
#  1. SIMD. ollama's ggml-cpu package sets no -march, so without these flags
#     the matrix kernels compile to plain SSE2 and the engine is 7-25x slower.
#     ENGINE_MARCH picks the target; see below for the default.
#  2. Headers. Our binding includes llama.h and ggml.h, which live in the
#     module cache, at a path that differs per machine; cgo directives can
#     only name paths relative to our own package, so the path is found here.
#
# Usage: $(ENGINE_ENV) go build ./...   $(ENGINE_ENV) go test ./...
# Every target that compiles Go must use the same flags: the Go build cache
# keys cgo packages on them, and a mismatch recompiles llama.cpp (minutes).

# The targets below must not become the including Makefile's default goal.
engine_saved_goal := $(.DEFAULT_GOAL)

GO ?= go
# The build targets the machine it runs on, as llama.cpp's own build does
# (GGML_NATIVE): x86-64-v4 where the CPU has AVX-512 (the float matrix
# kernels that training runs on are about 1.6x faster there), else
# x86-64-v3. Set ENGINE_MARCH=x86-64-v3 to build a binary for other machines.
ENGINE_CPU_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo 2>/dev/null)
ifeq ($(words $(filter avx512f avx512bw avx512cd avx512dq avx512vl,$(ENGINE_CPU_FLAGS))),5)
ENGINE_MARCH ?= x86-64-v4
else
ENGINE_MARCH ?= x86-64-v3
endif
ENGINE_OLLAMA_MOD := github.com/ollama/ollama

ifneq ($(filter aarch64 arm64,$(shell uname -m)),)
ENGINE_ARCH_FLAGS ?= -mcpu=native
else
ENGINE_ARCH_FLAGS ?= -march=$(ENGINE_MARCH)
endif

# `go mod download` fetches the module on a fresh machine (a no-op when it is
# cached) and prints where it lives; `go list -m` alone prints nothing until
# the module has been downloaded.
ENGINE_OLLAMA_DIR := $(shell $(GO) mod download -json $(ENGINE_OLLAMA_MOD) 2>/dev/null | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$$/\1/p')

ENGINE_INCLUDES := -I$(ENGINE_OLLAMA_DIR)/llama/llama.cpp/include -I$(ENGINE_OLLAMA_DIR)/ml/backend/ggml/ggml/include

ENGINE_ENV = CGO_ENABLED=1 \
	CGO_CFLAGS="-O3 $(ENGINE_ARCH_FLAGS)" \
	CGO_CXXFLAGS="-O3 $(ENGINE_ARCH_FLAGS)" \
	CGO_CPPFLAGS="$(ENGINE_INCLUDES)"

.PHONY: engine-env
# Prints the environment, for shells: eval "$(make -s engine-env)"
engine-env:
	@echo export CGO_ENABLED=1
	@echo export CGO_CFLAGS=\"-O3 $(ENGINE_ARCH_FLAGS)\"
	@echo export CGO_CXXFLAGS=\"-O3 $(ENGINE_ARCH_FLAGS)\"
	@echo export CGO_CPPFLAGS=\"$(ENGINE_INCLUDES)\"

.PHONY: bench-engine
# Speed of the Go binding against llama.cpp's own C loop (a minute or two:
# it generates and quantizes a 135M-shaped model first).
bench-engine:
	$(ENGINE_ENV) $(GO) run ./bench/engine $(BENCH_ARGS)

# Restore the default goal (empty again when this file is included first,
# so the including Makefile's first target stays the default).
.DEFAULT_GOAL := $(engine_saved_goal)
