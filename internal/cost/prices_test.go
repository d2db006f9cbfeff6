package cost

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func mustTable(t *testing.T, override string) *Table {
	t.Helper()
	tb, err := LoadTable(override)
	if err != nil {
		t.Fatalf("LoadTable(%q): %v", override, err)
	}
	return tb
}

func TestEmbeddedTable(t *testing.T) {
	tb := mustTable(t, "")
	tests := []struct {
		model  string
		want   Price
		source string
	}{
		{"gpt-4o-mini", Price{InputPerM: 0.15, OutputPerM: 0.60, CachedInputPerM: 0.075}, "openai"},
		{"gpt-4o-mini-2024-07-18", Price{InputPerM: 0.15, OutputPerM: 0.60, CachedInputPerM: 0.075}, "openai"},
		{"GPT-4.1", Price{InputPerM: 2, OutputPerM: 8, CachedInputPerM: 0.5}, "openai"},
		{"gpt-5-mini", Price{InputPerM: 0.25, OutputPerM: 2, CachedInputPerM: 0.025}, "openai"},
		{"claude-haiku-4-5-20251001", Price{InputPerM: 1, OutputPerM: 5}, "anthropic"},
		{"claude-sonnet-5-5", Price{InputPerM: 2, OutputPerM: 10}, "anthropic"},
		{"gemini-2.5-flash", Price{InputPerM: 0.30, OutputPerM: 2.50, CachedInputPerM: 0.03}, "gemini"},
		// A fine-tuned model is priced by its base's fine-tuning entry.
		{"ft:gpt-4o-mini-2024-07-18:acme:support:9xYz", Price{InputPerM: 0.30, OutputPerM: 1.20, CachedInputPerM: 0.15}, "openai-fine-tuning"},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			got, ok := tb.Lookup(tc.model)
			if !ok {
				t.Fatalf("Lookup(%q): no price", tc.model)
			}
			if got.InputPerM != tc.want.InputPerM || got.OutputPerM != tc.want.OutputPerM || got.CachedInputPerM != tc.want.CachedInputPerM {
				t.Fatalf("Lookup(%q) = %+v, want %+v", tc.model, got, tc.want)
			}
			if got.Source != tc.source {
				t.Fatalf("source = %q, want %q", got.Source, tc.source)
			}
			if _, ok := tb.Source(got.Source); !ok {
				t.Fatalf("source id %q has no text in the table", got.Source)
			}
		})
	}
}

func TestLookupMisses(t *testing.T) {
	tb := mustTable(t, "")
	for _, model := range []string{
		"",
		"no-such-model",
		"gpt-4o-2024-05-13",            // a snapshot priced differently: not guessed
		"gpt-4o-mini-2099-01-01",       // unknown snapshot: not guessed
		"ft:gpt-4.1-nano-2025-04-14:x", // no fine-tuning entry
		"openai:gpt-4o",                // provider prefixes are the caller's to strip
	} {
		t.Run(model, func(t *testing.T) {
			if p, ok := tb.Lookup(model); ok {
				t.Fatalf("Lookup(%q) = %+v, want no price", model, p)
			}
		})
	}
}

func TestEmbeddedTableIsComplete(t *testing.T) {
	tb := mustTable(t, "")
	if !strings.HasPrefix(tb.Version(), "2026.11.23 (prices checked 2026-11-23)") {
		t.Fatalf("Version() = %q", tb.Version())
	}
	// Every provider the docs name has entries, and every entry cites a
	// source that exists.
	for _, prefix := range []string{"gpt-", "claude-", "gemini-"} {
		n := 0
		for _, m := range tb.Models() {
			if strings.HasPrefix(m, prefix) {
				n++
				p, _ := tb.Lookup(m)
				if _, ok := tb.Source(p.Source); !ok {
					t.Errorf("%s: source %q is not defined", m, p.Source)
				}
				if p.OutputPerM < p.InputPerM && !strings.Contains(m, "embedding") {
					t.Errorf("%s: output %v cheaper than input %v: probably swapped", m, p.OutputPerM, p.InputPerM)
				}
				if p.CachedInputPerM > p.InputPerM {
					t.Errorf("%s: cached input %v dearer than input %v", m, p.CachedInputPerM, p.InputPerM)
				}
			}
		}
		if n == 0 {
			t.Errorf("no %s* models in the built-in table", prefix)
		}
	}
	ft, ok := tb.FineTune("gpt-4o-mini")
	if !ok || ft.TrainingPerM != 3 || ft.Inference.InputPerM != 0.30 {
		t.Fatalf("FineTune(gpt-4o-mini) = %+v, %v; want training 3, inference input 0.30", ft, ok)
	}
}

func TestOverride(t *testing.T) {
	tb := mustTable(t, filepath.Join("testdata", "override.yaml"))
	tests := []struct {
		name       string
		model      string
		wantIn     float64
		wantOut    float64
		wantSource string
	}{
		{"replaces a built-in model", "gpt-4o-mini", 0.10, 0.40, "contract"},
		{"aliases follow the replaced entry", "gpt-4o-mini-2024-07-18", 0.10, 0.40, "contract"},
		{"adds a model, source defaults to the file", "acme-llm-8b", 0.05, 0.05, filepath.Join("testdata", "override.yaml")},
		{"keeps the rest", "gpt-4.1", 2, 8, "openai"},
		{"adds a fine-tuned model price", "ft:gpt-4.1-mini-2025-04-14:acme::abc", 0.80, 3.20, "contract"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, ok := tb.Lookup(tc.model)
			if !ok || p.InputPerM != tc.wantIn || p.OutputPerM != tc.wantOut || p.Source != tc.wantSource {
				t.Fatalf("Lookup(%q) = %+v, %v; want in %v out %v from %q", tc.model, p, ok, tc.wantIn, tc.wantOut, tc.wantSource)
			}
		})
	}
	t.Run("replaced entry has no stale cached price", func(t *testing.T) {
		p, _ := tb.Lookup("gpt-4o-mini")
		if p.CachedInputPerM != 0 {
			t.Fatalf("cached input = %v, want 0: the override replaces the entry whole", p.CachedInputPerM)
		}
	})
	t.Run("fine-tuning alias", func(t *testing.T) {
		ft, ok := tb.FineTune("GPT-4.1-MINI")
		if !ok || ft.TrainingPerM != 5 {
			t.Fatalf("FineTune = %+v, %v; want training 5", ft, ok)
		}
	})
	t.Run("built-in table unchanged for other loads", func(t *testing.T) {
		p, _ := mustTable(t, "").Lookup("gpt-4o-mini")
		if p.InputPerM != 0.15 {
			t.Fatalf("a fresh table has gpt-4o-mini input %v, want 0.15", p.InputPerM)
		}
	})
}

func TestSet(t *testing.T) {
	tb := mustTable(t, "")
	tb.Set("My-Model", Price{InputPerM: 1, OutputPerM: 2})
	p, ok := tb.Lookup("my-model")
	if !ok || p.InputPerM != 1 || p.Source != "tunelab.yaml prices" {
		t.Fatalf("after Set: %+v, %v", p, ok)
	}
	// Setting a dated snapshot overrides its alias without touching the
	// base model.
	tb.Set("gpt-4o-2024-08-06", Price{InputPerM: 9, OutputPerM: 9})
	if p, _ := tb.Lookup("gpt-4o-2024-08-06"); p.InputPerM != 9 {
		t.Fatalf("snapshot after Set = %+v, want input 9", p)
	}
	if p, _ := tb.Lookup("gpt-4o"); p.InputPerM != 2.5 {
		t.Fatalf("base after setting a snapshot = %+v, want input 2.5", p)
	}
}

func TestTableConcurrent(t *testing.T) {
	tb := mustTable(t, "")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if i%2 == 0 {
				tb.Set("m", Price{InputPerM: float64(i), OutputPerM: 1})
			}
			tb.Lookup("gpt-4o")
			tb.Lookup("m")
			tb.Models()
		})
	}
	wg.Wait()
}

func TestLoadTableErrors(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string
	}{
		{"missing file", "", "read price overrides"},
		{"not YAML", "prices: [", "yaml:"},
		{"empty file", "# nothing\n", "the file is empty"},
		{"top level is a list", "- a\n", "want a mapping with keys version, date, currency, sources, prices, fine_tuning"},
		{"unknown top key", "price:\n  x: {input: 1, output: 1}\n", `:1: price: unknown key`},
		{"misspelt field names line and field", "prices:\n  m:\n    input: 1\n    ouptut: 2\n", `:4: prices.m.ouptut: unknown key: the known keys are input, output, cached_input, aliases, source`},
		{"missing output", "prices:\n  m:\n    input: 1\n", `:3: prices.m: missing output`},
		{"not a number", "prices:\n  m:\n    input: cheap\n    output: 1\n", `:3: prices.m.input: "cheap" is not a number`},
		{"negative", "prices:\n  m:\n    input: -1\n    output: 1\n", `prices.m.input: -1 is not a price`},
		{"NaN", "prices:\n  m:\n    input: .nan\n    output: 1\n", `prices.m.input: .nan is not a price`},
		{"training outside fine_tuning", "prices:\n  m:\n    input: 1\n    output: 1\n    training: 3\n", "training prices belong under fine_tuning:"},
		{"fine-tuning without training", "fine_tuning:\n  m:\n    input: 1\n    output: 1\n", "fine_tuning.m: missing training"},
		{"bad date", "date: last week\nprices: {}\n", `date: "last week" is not a date`},
		{"other currency", "currency: EUR\n", `currency: "EUR" is not supported`},
		{"unknown source id", "sources:\n  a: x\nprices:\n  m:\n    input: 1\n    output: 1\n    source: b\n", `:4: prices.m.source: "b" is not an id under sources: (known: a)`},
		{"listed twice ignoring case", "prices:\n  m: {input: 1, output: 1}\n  M: {input: 2, output: 2}\n", `:3: prices.m: model "m" is listed twice`},
		{"alias clash", "prices:\n  a: {input: 1, output: 1, aliases: [x]}\n  b: {input: 1, output: 1, aliases: [x]}\n", `"x" names both "a" and "b"`},
		{"alias not a list", "prices:\n  a: {input: 1, output: 1, aliases: x}\n", "want a list of other names"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "prices.yaml")
			if tc.name != "missing file" {
				if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := LoadTable(path)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
			}
			if tc.name != "missing file" && !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q does not name the file %s", err, path)
			}
		})
	}
}
