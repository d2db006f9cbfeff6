package finetune

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tunelab/tunelab/internal/engine"
	"github.com/tunelab/tunelab/internal/finetune/export"
	"github.com/tunelab/tunelab/internal/gguf"
)

// Import brings back an adapter trained elsewhere (a PEFT folder from
// Axolotl, Unsloth or PEFT itself) for the local base model at basePath:
// it writes the adapter as llama.cpp LoRA GGUF (modelsDir/NAME.lora.gguf)
// and the merged model (modelsDir/NAME.gguf), usable as local:NAME.
func Import(peftDir, basePath, modelsDir, name string) (string, error) {
	h, err := gguf.ReadHeader(basePath)
	if err != nil {
		return "", err
	}
	shape, err := engine.ShapeOf(h)
	if err != nil {
		return "", err
	}
	ts, alpha, err := export.ImportPEFT(peftDir, h.Architecture(), shape.Heads, shape.KVHeads)
	if err != nil {
		return "", err
	}
	rank := ts[0].Rank
	short := map[string]string{"attn_q": "q", "attn_k": "k", "attn_v": "v", "attn_output": "o", "ffn_gate": "gate", "ffn_up": "up", "ffn_down": "down"}
	seen := map[string]bool{}
	for _, t := range ts {
		if t.Rank != rank {
			return "", fmt.Errorf("import %s: tensor %s has rank %d, others %d; mixed ranks are not supported", peftDir, t.Target, t.Rank, rank)
		}
		parts := strings.Split(t.Target, ".")
		if len(parts) < 3 || short[parts[2]] == "" {
			return "", fmt.Errorf("import %s: tensor %s is not one of the adaptable weights", peftDir, t.Target)
		}
		seen[short[parts[2]]] = true
	}
	var targets []string
	for t := range seen {
		targets = append(targets, t)
	}
	sort.Strings(targets)
	tr, err := engine.NewTrainer(shape, engine.TrainOptions{Rank: rank, Alpha: alpha, Targets: targets, Threads: 1})
	if err != nil {
		return "", err
	}
	defer tr.Close()
	if err := tr.LoadWeights(h); err != nil {
		return "", err
	}
	have := map[string]bool{}
	for _, name := range tr.Params() {
		have[name] = true
	}
	for _, t := range ts {
		if err := tr.SetTensor(t.Target+".lora_a", t.A); err != nil {
			return "", fmt.Errorf("import %s: %w (is the adapter for this base model?)", peftDir, err)
		}
		if err := tr.SetTensor(t.Target+".lora_b", t.B); err != nil {
			return "", fmt.Errorf("import %s: %w (is the adapter for this base model?)", peftDir, err)
		}
		delete(have, t.Target+".lora_a")
		delete(have, t.Target+".lora_b")
	}
	// Layers the adapter leaves out keep zero updates (B = 0).
	for name := range have {
		v, _ := tr.Tensor(name)
		clear(v)
		if err := tr.SetTensor(name, v); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(modelsDir, 0o755); err != nil {
		return "", fmt.Errorf("import %s: %w", peftDir, err)
	}
	adapter := filepath.Join(modelsDir, name+".lora.gguf")
	if err := gguf.WriteLoRA(adapter, h.Architecture(), alpha, ts); err != nil {
		return "", err
	}
	out := filepath.Join(modelsDir, name+".gguf")
	extra := []gguf.KV{{Key: "general.name", Value: name}, {Key: "tunelab.imported_from", Value: peftDir}}
	if err := tr.SaveModel(out, h.KV, gguf.F16, extra...); err != nil {
		return "", err
	}
	return out, nil
}
