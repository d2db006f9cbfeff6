// Command gen writes the example lab's support-ticket routing dataset:
// customer messages composed from the templates in templates.go with a
// fixed seed, varied the way real people write (greetings, sign-offs,
// typos, lower case), kept distinct from each other, split 75/25 by
// intent and written as JSONL. The output is committed next to this
// command, and a test checks that the two agree. Run it from the
// repository root:
//
//	go run ./internal/example/gen
package main

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"unicode"

	"github.com/tunelab/tunelab/internal/dataset"
	"github.com/tunelab/tunelab/internal/lab"
)

// defaultSeed fixes the dataset; changing it rewrites every file.
const defaultSeed = 20250611

func main() {
	out := flag.String("out", filepath.Join("internal", "example", "data"), "directory to write train.jsonl and test.jsonl to")
	seed := flag.Uint64("seed", defaultSeed, "random seed")
	flag.Parse()
	train, test, err := generate(*seed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
	for _, f := range []struct {
		name string
		exs  []lab.Example
	}{{"train.jsonl", train}, {"test.jsonl", test}} {
		path := filepath.Join(*out, f.name)
		if err := dataset.WriteJSONL(path, f.exs); err != nil {
			fmt.Fprintln(os.Stderr, "gen:", err)
			os.Exit(1)
		}
		fmt.Printf("%s: %d examples\n", path, len(f.exs))
	}
	tr, te := dataset.Describe(train, nil), dataset.Describe(test, nil)
	testCounts := map[string]int{}
	for _, l := range te.Labels {
		testCounts[l.Label] = l.Count
	}
	for _, l := range tr.Labels {
		fmt.Printf("  %-20s train %3d  test %3d\n", l.Label, l.Count, testCounts[l.Label])
	}
}

// distinct is how different two messages must be: word-pair Jaccard
// similarity below 0.8, so no message is a light edit of another, within
// an intent or across the train/test line.
var distinct = dataset.DedupeOptions{Threshold: 0.8, Shingle: 2}

// generate makes the whole dataset and splits it.
func generate(seed uint64) (train, test []lab.Example, err error) {
	rng := rand.New(rand.NewPCG(seed, 0x7475_6e65))
	var all []lab.Example
	seen := map[string]bool{}
	for _, t := range targets {
		var cores []lab.Example
		tpls := templates[t.intent]
		if len(tpls) == 0 {
			return nil, nil, fmt.Errorf("intent %s has no templates", t.intent)
		}
		order := rng.Perm(len(tpls))
		made, rejected := 0, 0
		for k := 0; made < t.n; k++ {
			text, err := fill(rng, tpls[order[k%len(tpls)]])
			if err != nil {
				return nil, nil, fmt.Errorf("intent %s: %w", t.intent, err)
			}
			// Distinctness is judged before the greetings and typos, so
			// that no two examples are one message dressed differently.
			// Near copies can only come from the same intent's templates;
			// exact ones are checked across intents too.
			core := lab.Example{Input: text}
			if seen[text] || len(dataset.Leakage(cores, []lab.Example{core}, distinct)) > 0 {
				if rejected++; rejected > 200*t.n {
					return nil, nil, fmt.Errorf("intent %s: only %d distinct messages after %d tries; add templates or slot values", t.intent, made, rejected)
				}
				continue
			}
			cores = append(cores, core)
			seen[text] = true
			all = append(all, lab.Example{Input: vary(rng, text), Expected: t.intent})
			made++
		}
	}
	// Numbered after shuffling, so an id says nothing about the intent.
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	for i := range all {
		all[i].ID = fmt.Sprintf("tk-%04d", i+1)
	}
	s, err := dataset.Split(all, dataset.Ratios{Train: 0.75, Test: 0.25}, int64(seed))
	if err != nil {
		return nil, nil, err
	}
	return s.Train, s.Test, nil
}

var slotRE = regexp.MustCompile(`\{([^{}]+)\}`)

// fill replaces every {slot} and {a|b} choice in a template. The pattern
// matches innermost braces, so a slot inside a choice is filled first and
// the choice on the next pass.
func fill(rng *rand.Rand, tpl string) (string, error) {
	out := tpl
	for slotRE.MatchString(out) {
		next, err := fillOnce(rng, out)
		if err != nil {
			return "", fmt.Errorf("template %q: %w", tpl, err)
		}
		out = next
	}
	// An empty choice leaves a doubled space or a space before a comma.
	out = strings.Join(strings.Fields(out), " ")
	return strings.ReplaceAll(out, " ,", ","), nil
}

func fillOnce(rng *rand.Rand, tpl string) (string, error) {
	var missing string
	out := slotRE.ReplaceAllStringFunc(tpl, func(m string) string {
		name := m[1 : len(m)-1]
		if strings.Contains(name, "|") {
			opts := strings.Split(name, "|")
			return opts[rng.IntN(len(opts))]
		}
		switch name {
		case "order":
			return orderNumber(rng)
		case "days":
			return fmt.Sprint(4 + rng.IntN(16))
		case "card":
			return fmt.Sprintf("%04d", rng.IntN(10000))
		case "vat":
			return fmt.Sprintf("%09d", rng.IntN(1_000_000_000))
		}
		vals, ok := slots[name]
		if !ok {
			missing = name
			return m
		}
		return vals[rng.IntN(len(vals))]
	})
	if missing != "" {
		return "", fmt.Errorf("no values for slot {%s}", missing)
	}
	return out, nil
}

// orderNumber writes an order number the ways customers copy them.
func orderNumber(rng *rand.Rand) string {
	n := 1_000_000 + rng.IntN(9_000_000)
	switch rng.IntN(4) {
	case 0:
		return fmt.Sprintf("#%d", n)
	case 1:
		return fmt.Sprintf("NW-%d", n)
	case 2:
		return fmt.Sprintf("%d", n)
	default:
		return fmt.Sprintf("#NW%d", n)
	}
}

// vary adds the touches that make one request read like different people
// wrote it.
func vary(rng *rand.Rand, text string) string {
	if rng.Float64() < 0.12 && strings.HasSuffix(text, ".") {
		text = strings.TrimSuffix(text, ".")
	}
	if rng.Float64() < 0.2 {
		text = typo(rng, text)
	}
	if rng.Float64() < 0.3 && !greeted(text) {
		// A greeting ending in a comma stands on its own line, as in an
		// email, so the message after it still starts a sentence.
		g := greetings[rng.IntN(len(greetings))]
		sep := " "
		if strings.HasSuffix(g, ",") {
			sep = "\n"
		}
		text = g + sep + text
	}
	if rng.Float64() < 0.25 {
		sep := " "
		if rng.IntN(3) == 0 {
			sep = "\n"
		}
		text += sep + signoffs[rng.IntN(len(signoffs))]
	}
	if rng.Float64() < 0.12 {
		text = strings.ToLower(text)
	}
	return text
}

func greeted(text string) bool {
	first, _, _ := strings.Cut(strings.ToLower(text), " ")
	switch strings.Trim(first, ",!") {
	case "hi", "hello", "hey", "dear":
		return true
	}
	return false
}

// typo swaps two neighbouring letters inside one longer word, the slip
// fast typists make most.
func typo(rng *rand.Rand, text string) string {
	words := strings.Split(text, " ")
	var long []int
	for i, w := range words {
		if len(w) >= 5 && isLetters(w) {
			long = append(long, i)
		}
	}
	if len(long) == 0 {
		return text
	}
	i := long[rng.IntN(len(long))]
	b := []byte(words[i])
	j := 1 + rng.IntN(len(b)-3) // keep the first and last letters
	b[j], b[j+1] = b[j+1], b[j]
	words[i] = string(b)
	return strings.Join(words, " ")
}

func isLetters(w string) bool {
	for _, r := range w {
		if r > unicode.MaxASCII || !unicode.IsLetter(r) {
			return false
		}
	}
	return true
}

// encode renders examples exactly as WriteJSONL writes them, for the test
// that compares the committed files with the generator.
func encode(exs []lab.Example) ([]byte, error) {
	var buf bytes.Buffer
	err := dataset.EncodeJSONL(&buf, exs)
	return buf.Bytes(), err
}
