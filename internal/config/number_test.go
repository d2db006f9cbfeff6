package config

import "testing"

// TestParseRejectsQuietChanges covers values that used to be accepted and
// then quietly changed or ignored: fractions in whole-number fields, NaN
// and infinity past the range checks, negative limits, empty labels and
// unknown data formats that were only caught when a data file was read.
func TestParseRejectsQuietChanges(t *testing.T) {
	const base = "data: {test: t.jsonl}\nmodels: [openai:m]\n"
	cases := []struct {
		name, text, want string
	}{
		{"fraction for repeats", base + "repeats: 1.5\n",
			`tunelab.yaml:3: repeats: want a whole number, got "1.5"`},
		{"fraction in a list entry", base + "prompts: [{technique: few-shot, few_shot: {k: 2.5}}]\n",
			`tunelab.yaml:3: prompts[0].few_shot.k: want a whole number, got "2.5"`},
		{"exponent for a count", base + "task: {volume: 1e3}\n",
			`tunelab.yaml:3: task.volume: want a whole number, got "1e3"`},
		{"NaN split ratio", "data: {file: d.jsonl, split: {train: .nan, test: 1}}\nmodels: [openai:m]\n",
			`tunelab.yaml:1: data.split.train: want a finite number, got ".nan"`},
		{"NaN temperature", base + "params:\n  temperature: .NaN\n",
			`tunelab.yaml:4: params.temperature: want a finite number, got ".NaN"`},
		{"NaN min quality", base + "task: {constraints: {min_quality: .nan}}\n",
			`tunelab.yaml:3: task.constraints.min_quality: want a finite number, got ".nan"`},
		{"infinite price", base + "prices:\n  m: {input: .inf}\n",
			`tunelab.yaml:4: prices.m.input: want a finite number, got ".inf"`},
		{"NaN scorer threshold", base + "scorers: [{type: label, threshold: .nan}]\n",
			`tunelab.yaml:3: scorers[0].threshold: want a finite number, got ".nan"`},
		{"negative infinite hourly price", base + "local: {hourly_usd: -.inf}\n",
			`tunelab.yaml:3: local.hourly_usd: want a finite number, got "-.inf"`},
		{"negative budget", base + "task:\n  constraints:\n    monthly_budget: -5\n",
			`tunelab.yaml:5: task.constraints.monthly_budget: must be 0 (no limit) or a positive amount in USD`},
		{"negative latency limit", base + "task:\n  constraints:\n    max_latency_ms: -1\n",
			`tunelab.yaml:5: task.constraints.max_latency_ms: must be 0 (no limit) or a positive number of milliseconds`},
		{"empty label", base + "task:\n  labels:\n    - a\n    - ''\n",
			`tunelab.yaml:6: task.labels[1]: an empty label: no answer could be scored as it; remove it or name it`},
		{"unknown data format", "data:\n  test: t.jsonl\n  format: parquet\nmodels: [openai:m]\n",
			`tunelab.yaml:3: data.format: unknown format "parquet": use one of jsonl, chat, csv, tsv, json, alpaca`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(tc.text), "tunelab.yaml")
			if err == nil {
				t.Fatalf("accepted: %+v", c)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n  %v\nwant\n  %s", err, tc.want)
			}
		})
	}
}

// TestParseKeepsGoodNumbers makes sure the number checks refuse only what
// they should: whole floats, alias format names and text durations pass.
func TestParseKeepsGoodNumbers(t *testing.T) {
	const base = "data: {test: t.jsonl, format: ndjson}\nmodels: [openai:m]\n"
	c, err := Parse([]byte(base+"params: {temperature: 0, seed: 7}\nrepeats: 3\ntimeout: 45s\nprices: {m: {input: 0.15, output: 1}}\ntask: {constraints: {min_quality: 1}}\n"), "tunelab.yaml")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"temperature", *c.Params.Temperature, 0.0},
		{"seed", *c.Params.Seed, int64(7)},
		{"repeats", c.Repeats, 3},
		{"price", c.Prices["m"].Input, 0.15},
		{"whole number for a float", c.Prices["m"].Output, 1.0},
		{"min quality", c.Task.Constraints.MinQuality, 1.0},
		{"format alias kept as written", c.Data.Format, "ndjson"},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v (%T), want %v (%T)", tc.got, tc.got, tc.want, tc.want)
			}
		})
	}
}
