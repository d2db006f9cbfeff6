package engine

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/tunelab/tunelab/internal/gguf"
)

// torchPython finds a Python that can import torch: TUNELAB_TORCHREF_PYTHON,
// then python3 on PATH, then Debian's /usr/bin/python3 (a pyenv python3
// can shadow the one python3-torch is installed for).
func torchPython(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("TUNELAB_TORCHREF_PYTHON"), "python3", "/usr/bin/python3"}
	for _, py := range candidates {
		if py == "" {
			continue
		}
		if exec.Command(py, "-c", "import torch").Run() == nil {
			return py
		}
	}
	if os.Getenv("TUNELAB_REQUIRE_TORCH") == "1" {
		t.Fatal("no python3 with torch found, and TUNELAB_REQUIRE_TORCH=1: install python3-torch")
	}
	t.Skip("PyTorch is not installed (Debian: apt-get install python3-torch)")
	return ""
}

// The training graph is checked against an independent PyTorch model
// (torchref/ref.py, float64): same weights, same packed batch; the loss,
// the logits and every LoRA gradient must agree.
func TestAgreesWithPyTorch(t *testing.T) {
	py := torchPython(t)
	dir := t.TempDir()
	cases := []struct {
		name string
		cfg  func() gguf.TinyConfig
	}{
		{"grouped-query attention, separate output", gguf.Tiny},
		{"tied embeddings, one kv head per head", func() gguf.TinyConfig {
			c := gguf.Tiny()
			c.Name, c.KVHeads, c.TiedEmbeddings = "tied", c.Heads, true
			return c
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			modelPath := newModelFile(t, tc.cfg())
			tr := newTrainer(t, modelPath, 4)
			randomizeLoRA(t, tr, 11)
			adapter := filepath.Join(dir, tc.cfg().Name+"-lora.gguf")
			if err := tr.SaveLoRA(adapter); err != nil {
				t.Fatal(err)
			}
			// Row 0: one sequence whose first half is a masked prompt.
			// Row 1: two packed sequences.
			const T = 10
			b := Batch{Rows: 2, Len: T}
			for r := range 2 {
				for i := range T {
					tok := int32(20 + 7*r + 3*i)
					seg, pos := int32(0), int32(i)
					if r == 1 && i >= 6 {
						seg, pos = 1, int32(i-6)
					}
					target := int32(21 + 7*r + 3*i)
					if (r == 0 && i < 5) || (r == 1 && (i == 5 || i == T-1)) {
						target = -1
					}
					b.Tokens = append(b.Tokens, tok)
					b.Pos = append(b.Pos, pos)
					b.Seg = append(b.Seg, seg)
					b.Targets = append(b.Targets, target)
				}
			}
			rows := func(v []int32) [][]int32 { return [][]int32{v[:T], v[T:]} }
			batchJSON, _ := json.Marshal(map[string]any{
				"tokens": rows(b.Tokens), "positions": rows(b.Pos), "segments": rows(b.Seg), "targets": rows(b.Targets),
			})
			batchPath, outPath := filepath.Join(dir, "batch.json"), filepath.Join(dir, "out.json")
			if err := os.WriteFile(batchPath, batchJSON, 0o644); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(py, filepath.Join("torchref", "ref.py"), modelPath, adapter, batchPath, outPath)
			cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ref.py: %v\n%s", err, out)
			}
			raw, err := os.ReadFile(outPath)
			if err != nil {
				t.Fatal(err)
			}
			var ref struct {
				Loss   float64              `json:"loss"`
				Logits []float32            `json:"logits"`
				Grads  map[string][]float32 `json:"grads"`
			}
			if err := json.Unmarshal(raw, &ref); err != nil {
				t.Fatal(err)
			}

			loss, logits, err := tr.Logits(b)
			if err != nil {
				t.Fatal(err)
			}
			if d := math.Abs(float64(loss)-ref.Loss) / ref.Loss; d > 1e-4 {
				t.Errorf("loss %g, PyTorch %g", loss, ref.Loss)
			}
			if d := maxRelDiff(logits, ref.Logits); d > 1e-4 {
				t.Errorf("logits differ from PyTorch's by %g (relative to the largest)", d)
			}
			tr.ZeroGrad()
			if _, err := tr.Backward(b, 1, 0, 0); err != nil {
				t.Fatal(err)
			}
			// Every frozen product whose input needs a gradient runs on the
			// transposed copies: all 7 in each layer but the first, whose
			// q, k and v read the (frozen) embeddings, and the output layer.
			// PyTorch's agreement below is then the agreement of that path.
			if got, want := tr.FastGrads(), 7*(tc.cfg().Layers-1)+4+1; got != want {
				t.Errorf("%d backward products ran on the transposed weights, want %d", got, want)
			}
			// The adapter's own products (the gradients of A and B, the
			// input gradient through A) run as mul_mat too.
			if got := tr.OutProds(); got != 0 {
				t.Errorf("%d outer products left in the backward graph, want 0", got)
			}
			if len(ref.Grads) != len(tr.Params()) {
				t.Fatalf("PyTorch gave %d gradients, the trainer has %d parameters", len(ref.Grads), len(tr.Params()))
			}
			worst, worstName := 0.0, ""
			for _, name := range tr.Params() {
				g, err := tr.Tensor(name + ".grad")
				if err != nil {
					t.Fatal(err)
				}
				if d := maxRelDiff(g, ref.Grads[name]); d > worst {
					worst, worstName = d, name
				}
			}
			if worst > 1e-3 {
				t.Errorf("gradient of %s differs from PyTorch's by %g (relative to its largest entry)", worstName, worst)
			}
			t.Logf("largest gradient difference %.2g (%s)", worst, worstName)
		})
	}
}
