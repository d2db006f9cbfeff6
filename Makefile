# tunelab's build. The engine (llama.cpp, compiled through cgo) is 7-25x
# slower without SIMD flags, so every target here builds with them; plain
# `go build` works too but gives a slow engine.

GO ?= go
BIN ?= bin/tunelab
LAB ?= example-lab

-include Makefile.engine.mk

# MODEL overrides the example lab's model for `make eval`, e.g.
# MODEL=openai-compatible:http://localhost:11434/v1#qwen2.5:0.5b
MODEL ?=

.PHONY: build test vet fmt-check lab ladder eval clean web

build:
	$(ENGINE_ENV) $(GO) build -o $(BIN) ./cmd/tunelab

# The test command the README gives and CI runs.
test: fmt-check vet
	$(ENGINE_ENV) $(GO) test -race -count=1 -timeout 20m ./...

vet:
	$(ENGINE_ENV) $(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Write the example lab once.
$(LAB)/tunelab.yaml: | build
	$(BIN) init $(LAB)

lab: $(LAB)/tunelab.yaml

# The main job: the ladder on the example lab, offline, on the bundled base
# model (prompt variants, LoRA fine-tuning, the tuned model, the verdict).
# Writes $(LAB)/ladder/verdict.json, results.json and report.html.
ladder: build lab
	cd $(LAB) && $(CURDIR)/$(BIN) ladder

# Only the evaluation: every prompt technique on the test split, with the
# results as a table, results.json and report.html.
eval: build lab
	@echo "model: $(if $(MODEL),$(MODEL),the example's (local:base, the bundled base model))"
	cd $(LAB) && $(CURDIR)/$(BIN) eval $(if $(MODEL),--model '$(MODEL)') --json results.json --html report.html

# The web UI (web/src) built into web/dist, which is committed and
# embedded, so `go build` needs no npm; run this after changing web/src.
web:
	cd web && npm ci && npm run build

clean:
	rm -rf bin $(LAB)
