package export

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/tunelab/tunelab/internal/gguf"
)

// peftConfig is the part of PEFT's adapter_config.json that decides how
// the weights are read.
type peftConfig struct {
	PEFTType     string         `json:"peft_type"`
	R            int            `json:"r"`
	Alpha        float64        `json:"lora_alpha"`
	UseRSLoRA    bool           `json:"use_rslora"`
	UseDoRA      bool           `json:"use_dora"`
	FanInFanOut  bool           `json:"fan_in_fan_out"`
	RankPattern  map[string]any `json:"rank_pattern"`
	AlphaPattern map[string]any `json:"alpha_pattern"`
}

// ggufNames maps Hugging Face's projection names to llama.cpp's.
var ggufNames = map[string]string{
	"q": "attn_q", "k": "attn_k", "v": "attn_v", "o": "attn_output",
	"gate": "ffn_gate", "up": "ffn_up", "down": "ffn_down",
}

// permutesQK lists the architectures whose HF-to-GGUF conversion reorders
// the rows of q_proj and k_proj (llama.cpp's convert_hf_to_gguf does it
// for llama so that its rope sees interleaved pairs); the others keep the
// Hugging Face order. An architecture missing here has tensors this
// mapping does not know (fused qkv, say), so it is refused.
var permutesQK = map[string]bool{
	"llama": true,
	"qwen2": false, "qwen3": false,
	"gemma": false, "gemma2": false, "gemma3": false,
}

var loraName = regexp.MustCompile(`^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(q|k|v|o|gate|up|down)_proj\.lora_(A|B)(?:\.default)?\.weight$`)

// ImportPEFT reads a PEFT LoRA adapter (adapter_config.json and
// adapter_model.safetensors in dir, as Axolotl, Unsloth and PEFT save
// them) and returns its tensors under llama.cpp's names for a base model
// of architecture arch, with the alpha to write alongside. nHead and
// nHeadKV are the base model's attention head counts (nHeadKV 0 means
// nHead); for llama they undo the row order the GGUF conversion gave q and
// k, so the update lines up with the converted weights.
func ImportPEFT(dir, arch string, nHead, nHeadKV int) ([]gguf.LoRATensor, float32, error) {
	permute, ok := permutesQK[arch]
	if !ok {
		known := make([]string, 0, len(permutesQK))
		for a := range permutesQK {
			known = append(known, a)
		}
		sort.Strings(known)
		return nil, 0, fmt.Errorf("import adapter %s: architecture %q is not supported: want one of %s", dir, arch, strings.Join(known, ", "))
	}
	if nHeadKV == 0 {
		nHeadKV = nHead
	}
	if permute && (nHead <= 0 || nHeadKV <= 0) {
		return nil, 0, fmt.Errorf("import adapter %s: %s needs the base model's head counts (llama.attention.head_count and head_count_kv), got %d and %d", dir, arch, nHead, nHeadKV)
	}
	cfgPath := filepath.Join(dir, "adapter_config.json")
	cfg, err := readPEFTConfig(cfgPath)
	if err != nil {
		return nil, 0, err
	}
	stPath := filepath.Join(dir, "adapter_model.safetensors")
	st, err := openSafetensors(stPath)
	if err != nil {
		return nil, 0, fmt.Errorf("import adapter: %w", err)
	}
	defer st.Close()

	type key struct {
		layer int
		proj  string
	}
	type pair struct{ a, b string }
	pairs := map[key]*pair{}
	for _, name := range st.names() {
		m := loraName.FindStringSubmatch(name)
		if m == nil {
			return nil, 0, fmt.Errorf("import adapter: %s: tensor %s is not a LoRA A/B weight of a q/k/v/o/gate/up/down projection (modules_to_save and LoRA biases cannot be imported)", stPath, name)
		}
		layer, _ := strconv.Atoi(m[1])
		proj := m[3]
		if (m[2] == "mlp") != (proj == "gate" || proj == "up" || proj == "down") {
			return nil, 0, fmt.Errorf("import adapter: %s: tensor %s puts %s_proj under %s", stPath, name, proj, m[2])
		}
		k := key{layer, proj}
		if pairs[k] == nil {
			pairs[k] = &pair{}
		}
		if m[4] == "A" {
			pairs[k].a = name
		} else {
			pairs[k].b = name
		}
	}
	if len(pairs) == 0 {
		return nil, 0, fmt.Errorf("import adapter: %s holds no tensors", stPath)
	}
	keys := make([]key, 0, len(pairs))
	for k := range pairs {
		keys = append(keys, k)
	}
	order := map[string]int{"q": 0, "k": 1, "v": 2, "o": 3, "gate": 4, "up": 5, "down": 6}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].layer != keys[j].layer {
			return keys[i].layer < keys[j].layer
		}
		return order[keys[i].proj] < order[keys[j].proj]
	})

	out := make([]gguf.LoRATensor, 0, len(keys))
	for _, k := range keys {
		p := pairs[k]
		if p.a == "" || p.b == "" {
			have, missing := p.a+p.b, "lora_A"
			if p.a != "" {
				missing = "lora_B"
			}
			return nil, 0, fmt.Errorf("import adapter: %s: tensor %s has no matching %s", stPath, have, missing)
		}
		ta, tb := st.tensors[p.a], st.tensors[p.b]
		// torch stores lora_A as [r, in] and lora_B as [out, r], row-major:
		// the same bytes as ggml's [in, r] and [r, out].
		if len(ta.Shape) != 2 || len(tb.Shape) != 2 {
			return nil, 0, fmt.Errorf("import adapter: %s: tensors %s %v and %s %v must be 2-D", stPath, p.a, ta.Shape, p.b, tb.Shape)
		}
		r, in, outDim := int(ta.Shape[0]), int(ta.Shape[1]), int(tb.Shape[0])
		if int(tb.Shape[1]) != r {
			return nil, 0, fmt.Errorf("import adapter: %s: tensor %s has shape %v but %s has rank %d", stPath, p.b, tb.Shape, p.a, r)
		}
		if r != cfg.R {
			return nil, 0, fmt.Errorf("import adapter: %s: tensor %s has rank %d but %s says r = %d (a per-module rank would change the scale; retrain with one rank)", stPath, p.a, r, cfgPath, cfg.R)
		}
		a, err := st.read(p.a)
		if err != nil {
			return nil, 0, fmt.Errorf("import adapter: %w", err)
		}
		b, err := st.read(p.b)
		if err != nil {
			return nil, 0, fmt.Errorf("import adapter: %w", err)
		}
		if permute && (k.proj == "q" || k.proj == "k") {
			heads := nHead
			if k.proj == "k" {
				heads = nHeadKV
			}
			if b, err = permuteRows(b, outDim, r, heads); err != nil {
				return nil, 0, fmt.Errorf("import adapter: %s: tensor %s: %w", stPath, p.b, err)
			}
		}
		out = append(out, gguf.LoRATensor{
			Target: fmt.Sprintf("blk.%d.%s.weight", k.layer, ggufNames[k.proj]),
			In:     in, Out: outDim, Rank: r, A: a, B: b,
		})
	}
	alpha := cfg.Alpha
	if cfg.UseRSLoRA {
		// rsLoRA scales by alpha/sqrt(r); llama.cpp always divides by r.
		alpha *= math.Sqrt(float64(cfg.R))
	}
	return out, float32(alpha), nil
}

// ConvertPEFT imports the PEFT adapter in dir and writes it to out as a
// llama.cpp LoRA GGUF for a base model of architecture arch.
func ConvertPEFT(dir, out, arch string, nHead, nHeadKV int) error {
	ts, alpha, err := ImportPEFT(dir, arch, nHead, nHeadKV)
	if err != nil {
		return err
	}
	if err := gguf.WriteLoRA(out, arch, alpha, ts); err != nil {
		return fmt.Errorf("import adapter %s: %w", dir, err)
	}
	return nil
}

// permuteRows reorders the rows of a [rows, cols] row-major matrix as
// llama.cpp's converter reorders llama's q_proj and k_proj: viewed as
// (heads, 2, rows/heads/2) rows, the last two axes are swapped, so each
// head's first and second halves interleave.
func permuteRows(m []float32, rows, cols, heads int) ([]float32, error) {
	if heads <= 0 || rows%heads != 0 || (rows/heads)%2 != 0 {
		return nil, fmt.Errorf("%d rows do not split into %d heads of an even size (check the head counts given)", rows, heads)
	}
	headDim := rows / heads
	half := headDim / 2
	out := make([]float32, len(m))
	for h := range heads {
		for j := range half {
			for s := range 2 {
				dst := h*headDim + 2*j + s
				src := h*headDim + s*half + j
				copy(out[dst*cols:(dst+1)*cols], m[src*cols:(src+1)*cols])
			}
		}
	}
	return out, nil
}

func readPEFTConfig(path string) (peftConfig, error) {
	var cfg peftConfig
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, fmt.Errorf("import adapter: %w", err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return cfg, fmt.Errorf("import adapter: %s: not valid JSON: %v", path, err)
	}
	var problems []string
	if cfg.PEFTType != "LORA" {
		problems = append(problems, fmt.Sprintf("peft_type is %q, want \"LORA\"", cfg.PEFTType))
	}
	if cfg.R <= 0 {
		problems = append(problems, fmt.Sprintf("r is %d, want a positive rank", cfg.R))
	}
	if cfg.Alpha <= 0 {
		problems = append(problems, fmt.Sprintf("lora_alpha is %g, want a positive value", cfg.Alpha))
	}
	if cfg.UseDoRA {
		problems = append(problems, "use_dora is true: DoRA adapters cannot be served as llama.cpp LoRA; retrain without DoRA")
	}
	if cfg.FanInFanOut {
		problems = append(problems, "fan_in_fan_out is true: only Linear layers (fan_in_fan_out false) are supported")
	}
	if len(cfg.RankPattern) > 0 || len(cfg.AlphaPattern) > 0 {
		problems = append(problems, "rank_pattern or alpha_pattern is set: llama.cpp applies one alpha to every tensor; retrain with one rank and alpha")
	}
	if len(problems) > 0 {
		return cfg, fmt.Errorf("import adapter: %s: %w", path, errors.New(strings.Join(problems, "; ")))
	}
	return cfg, nil
}
