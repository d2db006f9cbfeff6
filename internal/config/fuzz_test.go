package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fuzzPath is the config path the fuzzed text is parsed under; distinctive
// so an error that names the wrong file cannot pass.
const fuzzPath = "fuzzlab/tunelab.yaml"

var fuzzLineRef = regexp.MustCompile(`^` + regexp.QuoteMeta(fuzzPath) + `:(\d+):`)

// FuzzParse feeds the config parser arbitrary text: it may reject it, but
// it must never panic, a rejection must be one line that starts with the
// file (and a line inside it, when it gives one), and an accepted config
// must be complete: defaults set and the required sections present.
func FuzzParse(f *testing.F) {
	f.Add([]byte(validConfig))
	if data, err := os.ReadFile(filepath.Join("..", "example", FileName)); err == nil {
		f.Add(data)
	}
	f.Add([]byte("task: {labels: [a]}\nmodels: [x]\n"))
	f.Add([]byte("models:\n  - {id: 1, model: [}\n"))
	f.Add([]byte("prompts:\n  - json_schema: '{\"a\":'\n"))
	f.Add([]byte("&a [*a]"))
	f.Add([]byte("data: {file: d.jsonl, split: {train: 0.5, test: 0.5}}\nmodels: [openai:m]\nscorers: [{type: json-schema, schema: {type: object}}]\n"))
	f.Add([]byte("data: {test: t.jsonl}\nmodels: [openai:m]\ntune: {base: 'local:x', targets: [q, z]}\n"))
	f.Add([]byte("data: {test: t.jsonl}\nmodels: [openai:m]\nprompts: [{name: a, models: [nope]}]\n"))
	f.Add([]byte("timeout: 1 hour\n"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := yamlLines(data)
		c, err := Parse(data, fuzzPath)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, fuzzPath) {
				t.Fatalf("error does not start with the file: %q", msg)
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("error is not one line: %q", msg)
			}
			if m := fuzzLineRef.FindStringSubmatch(msg); m != nil {
				if n, _ := strconv.Atoi(m[1]); n < 1 || n > lines {
					t.Fatalf("error points at line %d of a %d-line file: %q", n, lines, msg)
				}
			}
			return
		}
		if c.Repeats < 1 || c.Concurrency < 1 || c.Timeout <= 0 || c.Retries < 1 || c.Params.MaxTokens < 1 || c.Store == "" {
			t.Fatalf("accepted config without defaults: %+v", c)
		}
		if len(c.Scorers) == 0 || len(c.Prompts) == 0 || len(c.Models) == 0 {
			t.Fatalf("accepted config without scorers, prompts or models: %+v", c)
		}
		if c.Data.Test == "" && c.Data.File == "" {
			t.Fatalf("accepted config without test data: %+v", c.Data)
		}
		primaries := 0
		for _, s := range c.Scorers {
			if s.Primary {
				primaries++
			}
		}
		if primaries != 1 {
			t.Fatalf("accepted config with %d primary scorers", primaries)
		}
	})
}

// yamlLines counts lines the way the YAML parser does, so that a line
// number in an error can be checked against it: besides \n, a lone \r
// and the Unicode breaks NEL, LS and PS start a line (old Mac files,
// text pasted from word processors).
func yamlLines(data []byte) int {
	n := 1
	for i := 0; i < len(data); i++ {
		switch {
		case data[i] == '\n':
			n++
		case data[i] == '\r':
			if i+1 < len(data) && data[i+1] == '\n' {
				i++
			}
			n++
		case data[i] == 0xC2 && i+1 < len(data) && data[i+1] == 0x85:
			n++
			i++
		case data[i] == 0xE2 && i+2 < len(data) && data[i+1] == 0x80 && (data[i+2] == 0xA8 || data[i+2] == 0xA9):
			n++
			i += 2
		}
	}
	return n
}
