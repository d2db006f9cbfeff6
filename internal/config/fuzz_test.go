package config

import "testing"

// FuzzParse feeds the config parser arbitrary text: it may reject it, but
// it must never panic, and an accepted config must have its defaults set.
func FuzzParse(f *testing.F) {
	f.Add([]byte(validConfig))
	f.Add([]byte("task: {labels: [a]}\nmodels: [x]\n"))
	f.Add([]byte("models:\n  - {id: 1, model: [}\n"))
	f.Add([]byte("prompts:\n  - json_schema: '{\"a\":'\n"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "tunelab.yaml")
		if err != nil {
			return
		}
		if c.Repeats < 1 || c.Concurrency < 1 || len(c.Scorers) == 0 || len(c.Prompts) == 0 {
			t.Fatalf("accepted config without defaults: %+v", c)
		}
	})
}
