// Package export hands a LoRA fine-tune to a GPU machine and brings the
// result back. Write lays out a self-contained job directory (the data,
// an Axolotl config, an Unsloth script and a README with the commands);
// ImportPEFT reads the PEFT adapter either tool produces and maps it onto
// llama.cpp's tensor names, so the adapter can be written as a GGUF LoRA
// and served by tunelab's engine, llama.cpp or Ollama.
package export

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"

	"github.com/tunelab/tunelab/internal/fsutil"
)

// Spec is one LoRA fine-tune to run elsewhere. Zero values take the
// defaults noted on each field.
type Spec struct {
	HFBase         string   // Hugging Face model id or local path of the base model
	TrainFile      string   // chat JSONL ({"messages": [...]} per line)
	ValidationFile string   // optional chat JSONL
	Rank           int      // LoRA rank; 16
	Alpha          float64  // LoRA alpha; twice the rank
	Dropout        float64  // LoRA dropout; 0 is a valid value and is kept
	Targets        []string // of q,k,v,o,gate,up,down; q,k,v,o
	Epochs         int      // 3
	LR             float64  // learning rate; 2e-4
	SeqLen         int      // tokens per example; 2048
	BatchSize      int      // examples per device step; 4
	// ImportCommand is the command the README tells users to run on the
	// adapter they bring back; "tunelab finetune import".
	ImportCommand string
}

// targetModules maps tunelab's short target names to the Hugging Face
// module names both trainers take.
var targetModules = map[string]string{
	"q": "q_proj", "k": "k_proj", "v": "v_proj", "o": "o_proj",
	"gate": "gate_proj", "up": "up_proj", "down": "down_proj",
}

var targetOrder = []string{"q", "k", "v", "o", "gate", "up", "down"}

// AdapterDir is where both trainers leave the adapter, relative to the
// job directory.
const AdapterDir = "outputs/lora"

func (s Spec) withDefaults() (Spec, error) {
	if s.HFBase == "" {
		return s, fmt.Errorf("export: no base model: set the Hugging Face id of the model to tune (e.g. meta-llama/Llama-3.2-1B-Instruct)")
	}
	if s.TrainFile == "" {
		return s, fmt.Errorf("export: no training file: export the train split as chat JSONL first")
	}
	if s.Rank == 0 {
		s.Rank = 16
	}
	if s.Alpha == 0 {
		s.Alpha = 2 * float64(s.Rank)
	}
	if len(s.Targets) == 0 {
		s.Targets = []string{"q", "k", "v", "o"}
	}
	if s.Epochs == 0 {
		s.Epochs = 3
	}
	if s.LR == 0 {
		s.LR = 2e-4
	}
	if s.SeqLen == 0 {
		s.SeqLen = 2048
	}
	if s.BatchSize == 0 {
		s.BatchSize = 4
	}
	if s.ImportCommand == "" {
		s.ImportCommand = "tunelab finetune import"
	}
	switch {
	case s.Rank < 0 || s.Alpha < 0 || s.Epochs < 0 || s.LR < 0 || s.SeqLen < 0 || s.BatchSize < 0:
		return s, fmt.Errorf("export: rank %d, alpha %g, epochs %d, learning rate %g, sequence length %d and batch size %d must not be negative", s.Rank, s.Alpha, s.Epochs, s.LR, s.SeqLen, s.BatchSize)
	case s.Dropout < 0 || s.Dropout >= 1:
		return s, fmt.Errorf("export: dropout %g: want a value from 0 up to (not including) 1", s.Dropout)
	}
	seen := map[string]bool{}
	for _, t := range s.Targets {
		if _, ok := targetModules[t]; !ok {
			return s, fmt.Errorf("export: unknown LoRA target %q: want some of %s", t, strings.Join(targetOrder, ", "))
		}
		if seen[t] {
			return s, fmt.Errorf("export: LoRA target %q is listed twice", t)
		}
		seen[t] = true
	}
	return s, nil
}

//go:embed templates
var templateFS embed.FS

var templates = template.Must(template.New("").Funcs(template.FuncMap{
	// quote writes a string both YAML and Python read back unchanged: a
	// JSON string literal is valid as either.
	"quote": func(s string) string {
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(s)
		return strings.TrimSuffix(b.String(), "\n")
	},
	"num": func(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) },
}).ParseFS(templateFS, "templates/*"))

type view struct {
	Spec
	Modules  []string
	HasValid bool
	Adapter  string
}

// Write lays out a job directory for a GPU machine and returns the paths
// it wrote: dir/data/train.jsonl (and valid.jsonl), dir/axolotl.yaml,
// dir/unsloth_train.py and dir/README.md. The data is copied so the
// directory can be moved as a whole.
func Write(dir string, s Spec) ([]string, error) {
	s, err := s.withDefaults()
	if err != nil {
		return nil, err
	}
	v := view{Spec: s, HasValid: s.ValidationFile != "", Adapter: AdapterDir}
	for _, t := range targetOrder {
		for _, want := range s.Targets {
			if t == want {
				v.Modules = append(v.Modules, targetModules[t])
			}
		}
	}
	var written []string
	put := func(rel string, data []byte, perm os.FileMode) error {
		path := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("export job to %s: %w", dir, err)
		}
		if err := fsutil.WriteFileAtomic(path, data, perm); err != nil {
			return fmt.Errorf("export job to %s: %w", dir, err)
		}
		written = append(written, path)
		return nil
	}
	copies := [][2]string{{s.TrainFile, "data/train.jsonl"}}
	if v.HasValid {
		copies = append(copies, [2]string{s.ValidationFile, "data/valid.jsonl"})
	}
	for _, c := range copies {
		data, err := os.ReadFile(c[0])
		if err != nil {
			return written, fmt.Errorf("export job to %s: read data: %w", dir, err)
		}
		if err := put(c[1], data, 0o644); err != nil {
			return written, err
		}
	}
	for _, f := range []struct {
		name string
		perm os.FileMode
	}{{"axolotl.yaml", 0o644}, {"unsloth_train.py", 0o755}, {"README.md", 0o644}} {
		var b bytes.Buffer
		if err := templates.ExecuteTemplate(&b, f.name+".tmpl", v); err != nil {
			return written, fmt.Errorf("export job to %s: render %s: %w", dir, f.name, err)
		}
		if err := put(f.name, b.Bytes(), f.perm); err != nil {
			return written, err
		}
	}
	return written, nil
}
