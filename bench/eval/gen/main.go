// Command gen writes the harness benchmark's lab: one synthetic ticket-routing
// dataset, and the same evaluation configured twice, once for tunelab and
// once for promptfoo, so the two harnesses send byte-identical chat requests
// to the same upstream server and can be timed against each other.
//
// Layout under -out:
//
//	tunelab/tunelab.yaml, tunelab/data/{train,test}.jsonl
//	promptfoo/promptfooconfig.yaml, promptfoo/prompts/*.json, promptfoo/tests.jsonl
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// Labels are the routing targets. Every label has phrases that point at it,
// so the data reads like a real task even though the upstream answers by hash.
var topics = []struct {
	label   string
	phrases []string
}{
	{"billing", []string{"I was charged twice for my subscription", "the invoice shows the wrong amount", "my card was billed after I cancelled", "please explain the extra fee on my statement"}},
	{"shipping", []string{"my parcel has not arrived yet", "the tracking number shows no movement for a week", "the courier left the box at the wrong address", "delivery keeps getting postponed"}},
	{"returns", []string{"I want to send back the shoes I ordered", "how do I get a return label", "the item does not fit and I need an exchange", "my refund for the returned jacket is missing"}},
	{"account", []string{"I cannot log in to my account", "the password reset email never comes", "please change the email address on my profile", "my account was locked after too many attempts"}},
	{"technical", []string{"the app crashes when I open the cart", "the website shows an error at checkout", "the sync with my phone stopped working", "the firmware update failed on my device"}},
	{"sales", []string{"do you offer a discount for ten licences", "I would like a quote for our whole team", "is there an annual plan that costs less", "can I talk to someone about an enterprise contract"}},
	{"privacy", []string{"please delete all the data you hold about me", "I want a copy of my personal data", "who did you share my address with", "stop using my data for marketing"}},
	{"complaint", []string{"your agent was rude to me on the phone", "this is the third time I have had to write", "I am very unhappy with how my case was handled", "nobody answered my last four messages"}},
	{"feedback", []string{"I love the new dashboard design", "it would be great to have a dark mode", "the recent update made things much faster", "please add an export to spreadsheet option"}},
	{"other", []string{"what are your opening hours on holidays", "do you have a shop in my city", "I found a lost item in your store", "is the company hiring at the moment"}},
}

var (
	openers = []string{"Hello,", "Hi team,", "Good morning,", "Dear support,", "Hey,", "To whom it may concern,"}
	details = []struct {
		format string
		lo, hi int
	}{
		{"The order number is %d.", 100000, 999999},
		{"My customer id is %d.", 1000, 99999},
		{"This started on day %d of the month.", 1, 28},
		{"I have been a customer for %d months.", 1, 120},
		{"Reference %d.", 10000, 99999},
	}
	closers = []string{"Thanks.", "Please help.", "Looking forward to your reply.", "Regards.", "Thank you in advance.", "Cheers."}
)

const (
	taskDescription = "Route the customer's support ticket to the team that should handle it."
	systemPrompt    = "You are a support triage agent. You read one ticket and name the team that owns it."
)

type example struct {
	ID       string `json:"id"`
	Input    string `json:"input"`
	Expected string `json:"expected"`
}

func main() {
	out := flag.String("out", "", "directory to write the benchmark lab into (created)")
	base := flag.String("base-url", "", "the upstream server's OpenAI-compatible base URL, e.g. http://127.0.0.1:18080/v1")
	cases := flag.Int("cases", 2000, "test cases")
	train := flag.Int("train", 50, "train examples (written for completeness; the benchmark prompts use none)")
	conc := flag.Int("concurrency", 16, "requests in flight for both harnesses")
	seed := flag.Uint64("seed", 7, "seed for the synthetic tickets")
	flag.Parse()
	if *out == "" || *base == "" {
		log.Fatal("gen: -out and -base-url are required")
	}
	if *cases < 1 || *conc < 1 {
		log.Fatal("gen: -cases and -concurrency must be at least 1")
	}
	l := layout{dir: *out, baseURL: strings.TrimRight(*base, "/"), concurrency: *conc}
	r := rand.New(rand.NewPCG(*seed, 0))
	l.train = synth(r, "train", *train)
	l.test = synth(r, "test", *cases)
	if err := l.write(); err != nil {
		log.Fatalf("gen: %v", err)
	}
}

func synth(r *rand.Rand, prefix string, n int) []example {
	out := make([]example, n)
	for i := range out {
		t := topics[r.IntN(len(topics))]
		text := strings.Join([]string{
			openers[r.IntN(len(openers))],
			t.phrases[r.IntN(len(t.phrases))] + ".",
			detail(r),
			closers[r.IntN(len(closers))],
		}, " ")
		out[i] = example{ID: fmt.Sprintf("%s-%05d", prefix, i+1), Input: text, Expected: t.label}
	}
	return out
}

func detail(r *rand.Rand) string {
	d := details[r.IntN(len(details))]
	return fmt.Sprintf(d.format, d.lo+r.IntN(d.hi-d.lo+1))
}

type layout struct {
	dir         string
	baseURL     string
	concurrency int
	train, test []example
}

func labels() []string {
	out := make([]string, len(topics))
	for i, t := range topics {
		out[i] = t.label
	}
	return out
}

// instructions is the first part of the user turn in both harnesses; the
// ticket follows after a blank line, which is how tunelab joins instructions
// and the rendered template.
func instructions() string {
	return taskDescription + "\nAnswer with exactly one of: " + strings.Join(labels(), ", ") + "."
}

func (l layout) write() error {
	tl := filepath.Join(l.dir, "tunelab")
	pf := filepath.Join(l.dir, "promptfoo")
	for _, d := range []string{filepath.Join(tl, "data"), filepath.Join(pf, "prompts")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", d, err)
		}
	}
	if err := writeJSONL(filepath.Join(tl, "data", "train.jsonl"), l.train, func(e example) any { return e }); err != nil {
		return err
	}
	if err := writeJSONL(filepath.Join(tl, "data", "test.jsonl"), l.test, func(e example) any { return e }); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(tl, "tunelab.yaml"), l.tunelabYAML()); err != nil {
		return err
	}
	// promptfoo renders JSON chat prompts with its templating and escapes the
	// variables for JSON, so the ticket text arrives exactly as tunelab sends it.
	prompts := map[string][]map[string]string{
		"plain.json": {{"role": "user", "content": instructions() + "\n\n{{input}}"}},
		"role.json":  {{"role": "system", "content": systemPrompt}, {"role": "user", "content": instructions() + "\n\n{{input}}"}},
	}
	for name, msgs := range prompts {
		body, err := json.MarshalIndent(msgs, "", "  ")
		if err != nil {
			return fmt.Errorf("encode prompt %s: %w", name, err)
		}
		if err := writeFile(filepath.Join(pf, "prompts", name), string(body)+"\n"); err != nil {
			return err
		}
	}
	err := writeJSONL(filepath.Join(pf, "tests.jsonl"), l.test, func(e example) any {
		return map[string]any{
			"description": e.ID,
			"vars":        map[string]string{"input": e.Input, "expected": e.Expected},
			"assert":      []map[string]string{{"type": "equals", "value": e.Expected}},
		}
	})
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(pf, "promptfooconfig.yaml"), l.promptfooYAML())
}

// yamlString quotes s for YAML; a JSON string is a valid YAML scalar.
func yamlString(s string) string {
	b, _ := json.Marshal(s) // a string always marshals
	return string(b)
}

func (l layout) tunelabYAML() string {
	var b strings.Builder
	fmt.Fprintf(&b, `# Written by bench/eval/gen: the harness benchmark, tunelab's half.
task:
  name: bench-routing
  description: %s
  output: label
  labels: [%s]
data:
  train: data/train.jsonl
  test: data/test.jsonl
models:
  - openai-compatible:%s#bench
prompts:
  - name: plain
    instructions: %s
  - name: role
    system: %s
    instructions: %s
scorers:
  - type: label
    primary: true
params:
  temperature: 0
  max_tokens: 16
concurrency: %d
timeout: 60s
`, yamlString(taskDescription), strings.Join(labels(), ", "), l.baseURL,
		yamlString(instructions()), yamlString(systemPrompt), yamlString(instructions()), l.concurrency)
	return b.String()
}

func (l layout) promptfooYAML() string {
	return fmt.Sprintf(`# Written by bench/eval/gen: the harness benchmark, promptfoo's half.
description: bench-routing
prompts:
  - id: file://prompts/plain.json
    label: plain
  - id: file://prompts/role.json
    label: role
providers:
  - id: openai:chat:bench
    config:
      apiBaseUrl: %s
      apiKey: bench-dummy-key
      temperature: 0
      max_tokens: 16
tests: file://tests.jsonl
evaluateOptions:
  maxConcurrency: %d
  cache: false
`, l.baseURL, l.concurrency)
}

func writeJSONL(path string, rows []example, conv func(example) any) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, r := range rows {
		if err := enc.Encode(conv(r)); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", path, err)
	}
	return nil
}

func writeFile(path, body string) error {
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
