// Command engine measures tunelab's llama.cpp binding: prompt-processing
// and generation speed of internal/engine against llama.cpp driven directly
// from C with the same model, context, batch and threads, on a generated
// model shaped like SmolLM-135M and quantized to Q8_0. The ratio is what
// the Go binding costs (1.00 is none).
//
// Build and run it through make so llama.cpp gets its SIMD flags:
//
//	make bench-engine            (or: $(ENGINE_ENV) go run ./bench/engine)
package main

/*
#cgo CFLAGS: -std=c11
#include <stdlib.h>
#include "cloop.h"
*/
import "C"

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
	"unsafe"

	"github.com/tunelab/tunelab/internal/engine"
	"github.com/tunelab/tunelab/internal/gguf"
)

func main() {
	threads := flag.Int("threads", runtime.NumCPU(), "decoding threads, the same for both")
	nPrompt := flag.Int("prompt", 256, "prompt tokens")
	nGen := flag.Int("gen", 64, "tokens to generate")
	reps := flag.Int("reps", 3, "measured runs of each (the median is reported)")
	modelPath := flag.String("model", "", "GGUF model to use (default: generate a 135M-shaped Q8_0 model in a temporary directory)")
	flag.Parse()
	if err := run(*modelPath, *threads, *nPrompt, *nGen, *reps); err != nil {
		fmt.Fprintln(os.Stderr, "bench/engine:", err)
		os.Exit(1)
	}
}

type timing struct {
	promptTPS, genTPS float64
	genTokens         int
}

func run(modelPath string, threads, nPrompt, nGen, reps int) error {
	if nPrompt < 1 || nGen < 2 || reps < 1 || threads < 1 {
		return fmt.Errorf("want -prompt >= 1, -gen >= 2, -reps >= 1 and -threads >= 1")
	}
	build := engine.BuildInfo()
	fmt.Println(build)
	if modelPath == "" {
		dir, err := os.MkdirTemp("", "tunelab-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if modelPath, err = makeModel(dir, threads); err != nil {
			return err
		}
	}
	nCtx := nPrompt + nGen + 8
	batch := min(512, nCtx)
	m, err := engine.Load(modelPath, engine.Options{Threads: threads, ContextSize: nCtx, BatchSize: batch})
	if err != nil {
		return err
	}
	defer m.Close()
	info := m.Info()
	fmt.Printf("model: %s, %s, %.1fM parameters, %d layers, %d wide, vocabulary %d\n",
		filepath.Base(modelPath), info.FileType, float64(info.Params)/1e6, info.Layers, info.EmbeddingSize, info.VocabSize)
	prompt, err := promptTokens(m, nPrompt)
	if err != nil {
		return err
	}

	cpath := C.CString(modelPath)
	defer C.free(unsafe.Pointer(cpath))
	cm := C.cloop_load(cpath)
	if cm == nil {
		return fmt.Errorf("llama.cpp could not load %s", modelPath)
	}
	defer C.llama_model_free(cm)

	ours := func() (timing, error) {
		r, err := m.GenerateTokens(context.Background(), prompt, engine.GenerateOptions{MaxTokens: nGen}, nil)
		if err != nil {
			return timing{}, err
		}
		return timing{float64(r.PromptTokens) / r.PromptDuration.Seconds(), float64(r.OutputTokens) / r.GenerateDuration.Seconds(), r.OutputTokens}, nil
	}
	direct := func() (timing, error) {
		r := C.cloop_run(cm, (*C.llama_token)(unsafe.Pointer(&prompt[0])), C.int(len(prompt)), C.int(nGen), C.int(threads), C.int(nCtx), C.int(batch))
		if r.rc != 0 {
			return timing{}, fmt.Errorf("C loop failed with %d", int(r.rc))
		}
		return timing{float64(len(prompt)) / (float64(r.prompt_ms) / 1e3), float64(r.n_gen) / (float64(r.gen_ms) / 1e3), int(r.n_gen)}, nil
	}

	// One unmeasured run each warms caches and the mapped weights; then
	// the two alternate so drifting machine load hits both alike.
	var goRuns, cRuns []timing
	for i := 0; i <= reps; i++ {
		a, err := ours()
		if err != nil {
			return err
		}
		b, err := direct()
		if err != nil {
			return err
		}
		if i > 0 {
			goRuns, cRuns = append(goRuns, a), append(cRuns, b)
		}
	}
	g, d := median(goRuns), median(cRuns)
	fmt.Printf("threads %d, prompt %d tokens, generation %d tokens (%d produced), median of %d runs\n\n", threads, nPrompt, nGen, g.genTokens, reps)
	fmt.Printf("%-22s %14s %14s\n", "", "prompt tok/s", "generate tok/s")
	fmt.Printf("%-22s %14.1f %14.1f\n", "tunelab engine (Go)", g.promptTPS, g.genTPS)
	fmt.Printf("%-22s %14.1f %14.1f\n", "llama.cpp loop (C)", d.promptTPS, d.genTPS)
	fmt.Printf("%-22s %14.2f %14.2f\n", "ratio Go / C", g.promptTPS/d.promptTPS, g.genTPS/d.genTPS)
	return nil
}

// makeModel writes the 135M-shaped model in F16 and quantizes it to Q8_0
// with the engine, as a user would.
func makeModel(dir string, threads int) (string, error) {
	start := time.Now()
	f16 := filepath.Join(dir, "bench-135m-f16.gguf")
	if err := gguf.GenerateLlama(f16, gguf.Bench135M()); err != nil {
		return "", err
	}
	q8 := filepath.Join(dir, "bench-135m-q8_0.gguf")
	if err := engine.Quantize(f16, q8, "Q8_0", threads); err != nil {
		return "", err
	}
	os.Remove(f16)
	fmt.Printf("generated and quantized the model in %.1fs\n", time.Since(start).Seconds())
	return q8, nil
}

// promptTokens tokenizes the bundled corpus, repeated as needed, to n.
func promptTokens(m *engine.Model, n int) ([]int32, error) {
	text := gguf.Corpus()
	for {
		toks, err := m.Tokenize(text, true, false)
		if err != nil {
			return nil, err
		}
		if len(toks) >= n {
			return toks[:n], nil
		}
		text = strings.Repeat(gguf.Corpus(), 2*len(text)/len(gguf.Corpus()))
	}
}

func median(ts []timing) timing {
	pick := func(f func(timing) float64) float64 {
		v := make([]float64, len(ts))
		for i, t := range ts {
			v[i] = f(t)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return timing{
		promptTPS: pick(func(t timing) float64 { return t.promptTPS }),
		genTPS:    pick(func(t timing) float64 { return t.genTPS }),
		genTokens: ts[len(ts)/2].genTokens,
	}
}
