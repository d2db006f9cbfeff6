package export

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tunelab/tunelab/internal/testutil/golden"
)

const trainRows = `{"messages":[{"role":"user","content":"My card was charged twice"},{"role":"assistant","content":"billing"}]}
`
const validRows = `{"messages":[{"role":"user","content":"Refund please"},{"role":"assistant","content":"billing"}]}
`

func writeData(t *testing.T) (train, valid string) {
	t.Helper()
	dir := t.TempDir()
	train, valid = filepath.Join(dir, "train.jsonl"), filepath.Join(dir, "valid.jsonl")
	for p, s := range map[string]string{train: trainRows, valid: validRows} {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return train, valid
}

func TestWrite(t *testing.T) {
	train, valid := writeData(t)
	cases := []struct {
		name        string
		spec        Spec
		wantModules []string
		wantR       int
		wantAlpha   float64
	}{
		{
			name:        "defaults",
			spec:        Spec{HFBase: "meta-llama/Llama-3.2-1B-Instruct", TrainFile: train},
			wantModules: []string{"q_proj", "k_proj", "v_proj", "o_proj"},
			wantR:       16, wantAlpha: 32,
		},
		{
			name: "every setting with validation",
			spec: Spec{HFBase: "Qwen/Qwen2.5-0.5B-Instruct", TrainFile: train, ValidationFile: valid,
				Rank: 8, Alpha: 16, Dropout: 0.05, Targets: []string{"down", "q", "v", "gate", "up"},
				Epochs: 2, LR: 1e-4, SeqLen: 1024, BatchSize: 2, ImportCommand: "tunelab tune import --lab ."},
			wantModules: []string{"q_proj", "v_proj", "gate_proj", "up_proj", "down_proj"},
			wantR:       8, wantAlpha: 16,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			paths, err := Write(dir, tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{"data/train.jsonl"}
			if tc.spec.ValidationFile != "" {
				want = append(want, "data/valid.jsonl")
			}
			want = append(want, "axolotl.yaml", "unsloth_train.py", "README.md")
			if len(paths) != len(want) {
				t.Fatalf("wrote %v, want %v", paths, want)
			}
			for i, w := range want {
				if paths[i] != filepath.Join(dir, w) {
					t.Errorf("path %d is %s, want %s", i, paths[i], filepath.Join(dir, w))
				}
			}
			if got, _ := os.ReadFile(filepath.Join(dir, "data/train.jsonl")); string(got) != trainRows {
				t.Errorf("train copy %q, want %q", got, trainRows)
			}
			goldenDir := filepath.Join("testdata", strings.ReplaceAll(tc.name, " ", "_"))
			for _, f := range []string{"axolotl.yaml", "unsloth_train.py", "README.md"} {
				got, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil {
					t.Fatal(err)
				}
				golden.Check(t, filepath.Join(goldenDir, f), got)
			}
			var cfg struct {
				Base     string   `yaml:"base_model"`
				R        int      `yaml:"lora_r"`
				Alpha    float64  `yaml:"lora_alpha"`
				Modules  []string `yaml:"lora_target_modules"`
				Adapter  string   `yaml:"adapter"`
				Datasets []struct {
					Path, Type, FieldMessages string
				} `yaml:"datasets"`
				Test []map[string]any `yaml:"test_datasets"`
			}
			data, _ := os.ReadFile(filepath.Join(dir, "axolotl.yaml"))
			if err := yaml.Unmarshal(data, &cfg); err != nil {
				t.Fatalf("axolotl.yaml is not YAML: %v", err)
			}
			if cfg.Base != tc.spec.HFBase || cfg.R != tc.wantR || cfg.Alpha != tc.wantAlpha || cfg.Adapter != "lora" ||
				strings.Join(cfg.Modules, ",") != strings.Join(tc.wantModules, ",") {
				t.Errorf("axolotl.yaml reads back as %+v", cfg)
			}
			if (len(cfg.Test) == 1) != (tc.spec.ValidationFile != "") {
				t.Errorf("test_datasets %v with validation file %q", cfg.Test, tc.spec.ValidationFile)
			}
			if py, err := exec.LookPath("python3"); err == nil {
				cmd := exec.Command(py, "-c", "import ast,sys; ast.parse(open(sys.argv[1]).read())", filepath.Join(dir, "unsloth_train.py"))
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("unsloth_train.py is not valid Python: %v\n%s", err, out)
				}
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	train, _ := writeData(t)
	cases := []struct {
		name string
		spec Spec
		want string
	}{
		{"no base", Spec{TrainFile: train}, "no base model"},
		{"no train file", Spec{HFBase: "m"}, "no training file"},
		{"unknown target", Spec{HFBase: "m", TrainFile: train, Targets: []string{"q", "lm_head"}}, `unknown LoRA target "lm_head": want some of q, k, v, o, gate, up, down`},
		{"target twice", Spec{HFBase: "m", TrainFile: train, Targets: []string{"q", "q"}}, `"q" is listed twice`},
		{"dropout 1", Spec{HFBase: "m", TrainFile: train, Dropout: 1}, "dropout 1"},
		{"negative rank", Spec{HFBase: "m", TrainFile: train, Rank: -4}, "rank -4"},
		{"missing train file", Spec{HFBase: "m", TrainFile: filepath.Join(t.TempDir(), "nope.jsonl")}, "nope.jsonl"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Write(t.TempDir(), tc.spec)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}
