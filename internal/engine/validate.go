package engine

/*
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/tunelab/tunelab/internal/gguf"
)

// supportedArchs are llama.cpp's decoder-only text architectures, the
// ones whose generation runs through a plain llama_decode loop. Encoders
// (bert, t5), vision and audio models, and diffusion models are left out:
// llama.cpp loads some of them but this engine cannot run them correctly.
var supportedArchs = map[string]bool{}

func init() {
	for _, a := range strings.Fields(`llama llama4 deci falcon gpt2 gptj gptneox mpt baichuan starcoder
		refact bloom stablelm qwen qwen2 qwen2moe qwen3 qwen3moe phi2 phi3 phimoe plamo codeshell orion
		internlm2 minicpm minicpm3 gemma gemma2 gemma3 starcoder2 xverse command-r cohere2 dbrx olmo
		olmo2 olmoe openelm arctic deepseek deepseek2 chatglm glm4 glm4moe bitnet jais nemotron exaone
		exaone4 granite granitemoe solar plm bailingmoe bailingmoe2 dots1 arcee ernie4_5 ernie4_5-moe
		hunyuan-moe hunyuan-dense smollm3 gpt-oss seed_oss apertus mistral3 mamba mamba2 rwkv6 rwkv7
		jamba falcon-h1 granitehybrid lfm2 lfm2moe`) {
		supportedArchs[a] = true
	}
}

// SupportedArchitectures lists the general.architecture values Load accepts.
func SupportedArchitectures() []string {
	out := make([]string, 0, len(supportedArchs))
	for a := range supportedArchs {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

// checkModelFile reads the header and refuses, with an error that says
// what to do, every file llama.cpp would crash on or could not run.
func checkModelFile(path string) (*gguf.Header, error) {
	h, err := gguf.ReadHeader(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("load model: %s does not exist; check the path (relative paths are resolved from the lab directory)", path)
	case errors.Is(err, gguf.ErrNotGGUF):
		return nil, fmt.Errorf("load model: %w; convert it to GGUF first (llama.cpp's convert_hf_to_gguf.py)", err)
	case errors.Is(err, gguf.ErrTruncated):
		return nil, fmt.Errorf("load model: %w; the download or copy was probably cut short, fetch it again", err)
	case err != nil:
		return nil, fmt.Errorf("load model: %w", err)
	}
	if t, _ := h.String("general.type"); t == "adapter" {
		return nil, fmt.Errorf("load model %s: %w: it is a LoRA adapter, not a model; load the base model and apply it as an adapter", path, ErrUnsupported)
	}
	arch := h.Architecture()
	if arch == "" {
		return nil, fmt.Errorf("load model %s: %w: it has no general.architecture", path, gguf.ErrInvalid)
	}
	if !supportedArchs[arch] {
		return nil, fmt.Errorf("load model %s: %w: architecture %q cannot run here; the engine runs decoder-only text models such as llama, qwen2, qwen3, gemma3, phi3 and mistral3", path, ErrUnsupported, arch)
	}
	if err := checkTokenizer(h); err != nil {
		return nil, fmt.Errorf("load model %s: %w: %v", path, gguf.ErrInvalid, err)
	}
	return h, nil
}

// checkTokenizer looks for the tokenizer defects llama.cpp asserts on
// (which aborts the process) or reads past: duplicate tokens, and score or
// type arrays of the wrong type or length.
func checkTokenizer(h *gguf.Header) error {
	model, ok := h.String("tokenizer.ggml.model")
	if !ok {
		return fmt.Errorf("tokenizer.ggml.model is missing")
	}
	if model == "none" || model == "no_vocab" {
		return fmt.Errorf("the model has no tokenizer (tokenizer.ggml.model is %q)", model)
	}
	v, ok := h.Get("tokenizer.ggml.tokens")
	if !ok {
		return fmt.Errorf("tokenizer.ggml.tokens is missing")
	}
	tokens, ok := v.([]string)
	if !ok || len(tokens) == 0 {
		return fmt.Errorf("tokenizer.ggml.tokens is %T, want a non-empty string array", v)
	}
	seen := make(map[string]int, len(tokens))
	for i, t := range tokens {
		if j, dup := seen[t]; dup {
			return fmt.Errorf("tokenizer.ggml.tokens has %q twice (ids %d and %d)", t, j, i)
		}
		seen[t] = i
	}
	if v, ok := h.Get("tokenizer.ggml.scores"); ok {
		if s, ok := v.([]float32); !ok || len(s) != len(tokens) {
			return fmt.Errorf("tokenizer.ggml.scores must be %d f32 values, one per token", len(tokens))
		}
	}
	if v, ok := h.Get("tokenizer.ggml.token_type"); ok {
		if s, ok := v.([]int32); !ok || len(s) != len(tokens) {
			return fmt.Errorf("tokenizer.ggml.token_type must be %d i32 values, one per token", len(tokens))
		}
	}
	for _, key := range []string{"bos", "eos", "unknown", "eot", "padding", "seperator"} {
		if id, ok := h.Uint("tokenizer.ggml." + key + "_token_id"); ok && id >= uint64(len(tokens)) {
			return fmt.Errorf("tokenizer.ggml.%s_token_id is %d, outside the vocabulary of %d", key, id, len(tokens))
		}
	}
	return nil
}

// fileTypes names llama.cpp's general.file_type values.
var fileTypes = map[uint64]string{
	0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K",
	11: "Q3_K_S", 12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S",
	17: "Q5_K_M", 18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
	23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S",
	29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE",
}

// fileType names the weights' quantization: general.file_type when the
// file says, else the most common type among its matrices.
func fileType(h *gguf.Header) string {
	if ft, ok := h.Uint("general.file_type"); ok {
		if name, ok := fileTypes[ft]; ok {
			return name
		}
	}
	count := map[gguf.TensorType]uint64{}
	for _, t := range h.Tensors {
		if len(t.Dims) >= 2 {
			count[t.Type] += t.Elements()
		}
	}
	best, bestN := "", uint64(0)
	for t, n := range count {
		if n > bestN || (n == bestN && t.String() < best) {
			best, bestN = t.String(), n
		}
	}
	return best
}

// ggmlTypeLayout is ggml's own block size and block bytes for a tensor
// type, which the tests hold package gguf's table against.
func ggmlTypeLayout(t gguf.TensorType) (blockSize, typeSize uint64) {
	return uint64(C.ggml_blck_size(C.enum_ggml_type(t))), uint64(C.ggml_type_size(C.enum_ggml_type(t)))
}
