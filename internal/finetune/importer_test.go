package finetune

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/tunelab/tunelab/internal/engine"
	"github.com/tunelab/tunelab/internal/gguf"
)

// writePEFT writes a PEFT adapter folder (what Axolotl and Unsloth save)
// with random A and B for the given projections of layer 0.
func writePEFT(t *testing.T, dir string, rank, in, kvOut int, mods []string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	header := map[string]any{}
	var data []byte
	add := func(name string, rows, cols int) {
		start := len(data)
		for range rows * cols {
			data = binary.LittleEndian.AppendUint32(data, math.Float32bits(float32(rng.NormFloat64()*0.1)))
		}
		header[name] = map[string]any{"dtype": "F32", "shape": []int{rows, cols}, "data_offsets": []int{start, len(data)}}
	}
	for _, m := range mods {
		out := in
		if m == "v_proj" || m == "k_proj" {
			out = kvOut
		}
		p := "base_model.model.model.layers.0.self_attn." + m
		add(p+".lora_A.weight", rank, in)
		add(p+".lora_B.weight", out, rank)
	}
	hj, _ := json.Marshal(header)
	var file []byte
	file = binary.LittleEndian.AppendUint64(file, uint64(len(hj)))
	file = append(append(file, hj...), data...)
	if err := os.WriteFile(filepath.Join(dir, "adapter_model.safetensors"), file, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`{"peft_type":"LORA","r":%d,"lora_alpha":%d,"target_modules":["q_proj","v_proj"]}`, rank, 2*rank)
	if err := os.WriteFile(filepath.Join(dir, "adapter_config.json"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

// An imported adapter is registered twice: as an adapter file and merged
// into the base. Both must give the model the same outputs.
func TestImportMergesWhatTheAdapterDoes(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "base.gguf")
	cfg := gguf.Tiny()
	if err := gguf.GenerateLlama(base, cfg); err != nil {
		t.Fatal(err)
	}
	peft := filepath.Join(dir, "peft")
	if err := os.MkdirAll(peft, 0o755); err != nil {
		t.Fatal(err)
	}
	writePEFT(t, peft, 2, cfg.Embedding, cfg.Embedding/cfg.Heads*cfg.KVHeads, []string{"q_proj", "v_proj"})
	models := filepath.Join(dir, "models")
	merged, err := Import(peft, base, models, "imported")
	if err != nil {
		t.Fatal(err)
	}
	toks := []int32{1, 40, 41, 42, 43}
	logits := func(path string, adapter string) []float32 {
		m, err := engine.Load(path, engine.Options{ContextSize: 64, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		var uses []engine.AdapterUse
		if adapter != "" {
			a, err := m.LoadAdapter(adapter)
			if err != nil {
				t.Fatal(err)
			}
			uses = []engine.AdapterUse{{Adapter: a, Scale: 1}}
		}
		out, err := m.Logits(context.Background(), toks, uses)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	viaAdapter := logits(base, filepath.Join(models, "imported.lora.gguf"))
	viaMerge := logits(merged, "")
	plain := logits(base, "")
	var diff, change float64
	for i := range viaAdapter {
		diff = math.Max(diff, math.Abs(float64(viaAdapter[i]-viaMerge[i])))
		change = math.Max(change, math.Abs(float64(viaAdapter[i]-plain[i])))
	}
	if change < 1e-3 {
		t.Fatalf("the adapter changes the logits by only %g", change)
	}
	if diff > 0.02*change {
		t.Errorf("merged model differs from base+adapter by %g (the adapter's own effect is %g)", diff, change)
	}
}
