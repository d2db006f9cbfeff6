package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/dataset"
	"github.com/tunelab/tunelab/internal/lab"
)

var dataDir = filepath.Join("..", "data")

func intents() []string {
	var out []string
	for _, t := range targets {
		out = append(out, t.intent)
	}
	return out
}

// TestCommittedDataMatchesGenerator regenerates the dataset and compares it
// byte for byte with the committed files: a template edit without a rerun
// (go run ./internal/example/gen) fails here.
func TestCommittedDataMatchesGenerator(t *testing.T) {
	train, test, err := generate(defaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		exs  []lab.Example
	}{{"train.jsonl", train}, {"test.jsonl", test}} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := encode(tc.exs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dataDir, tc.name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the generator's output: run go run ./internal/example/gen from the repository root", tc.name)
			}
		})
	}
}

func loadSplit(t *testing.T, name string) *dataset.Dataset {
	t.Helper()
	ds, err := dataset.Load(filepath.Join(dataDir, name), dataset.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestDataShape(t *testing.T) {
	train, test := loadSplit(t, "train.jsonl"), loadSplit(t, "test.jsonl")
	all := append(append([]lab.Example(nil), train.Examples...), test.Examples...)
	cases := []struct {
		name  string
		check func() string
	}{
		{"300 to 400 examples", func() string {
			if n := len(all); n < 300 || n > 400 {
				return "total " + strconv.Itoa(n)
			}
			return ""
		}},
		{"about a quarter in test", func() string {
			if share := float64(len(test.Examples)) / float64(len(all)); share < 0.23 || share > 0.27 {
				return "test share off"
			}
			return ""
		}},
		{"every intent in both splits with its share", func() string {
			tr, te := counts(train.Examples), counts(test.Examples)
			for _, tg := range targets {
				if tr[tg.intent]+te[tg.intent] != tg.n || te[tg.intent] < tg.n/5 || te[tg.intent] > tg.n/3+1 {
					return tg.intent + ": train " + strconv.Itoa(tr[tg.intent]) + " test " + strconv.Itoa(te[tg.intent])
				}
			}
			if len(tr) != len(targets) || len(te) != len(targets) {
				return "unexpected labels"
			}
			return ""
		}},
		{"rows are valid for the task's labels", func() string {
			var msgs []string
			for _, is := range dataset.Validate(all, dataset.Rules{Labels: intents(), MaxTokens: 120}) {
				msgs = append(msgs, is.String())
			}
			return strings.Join(msgs, "\n")
		}},
		{"no test message repeats a train message", func() string {
			var msgs []string
			for _, l := range dataset.Leakage(train.Examples, test.Examples, dataset.DedupeOptions{ExactOnly: true}) {
				msgs = append(msgs, l.A+" ~ "+l.B)
			}
			return strings.Join(msgs, ", ")
		}},
		{"ids are unique across splits", func() string {
			seen := map[string]bool{}
			for _, ex := range all {
				if seen[ex.ID] {
					return "repeated " + ex.ID
				}
				seen[ex.ID] = true
			}
			return ""
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if msg := tc.check(); msg != "" {
				t.Error(msg)
			}
		})
	}
}

// keywords is the router a team might write before trying a model: the
// intent whose words appear most wins.
var keywords = map[string][]string{
	"billing_refund":      {"refund", "money back", "charged", "charge", "difference"},
	"billing_invoice":     {"invoice", "receipt", "vat", "credit note"},
	"account_login":       {"log in", "login", "sign in", "password", "code", "locked"},
	"account_close":       {"close", "delete", "remove my account", "erase", "deactivate"},
	"shipping_delay":      {"arrive", "tracking", "late", "parcel", "where is my order", "delivered"},
	"shipping_address":    {"address", "postcode", "redirect", "deliver to", "flat number"},
	"product_defect":      {"broken", "stopped", "won't", "fault", "cracked", "flicker", "warranty"},
	"product_howto":       {"how do i", "how can i", "can i", "does the", "what does"},
	"subscription_cancel": {"cancel", "renew", "subscription", "membership", "trial"},
	"security_fraud":      {"didn't make", "hacked", "scam", "phishing", "without my permission", "didn't place"},
}

func keywordRoute(text string) string {
	text = strings.ToLower(text)
	best, bestN := "", 0
	for _, intent := range intents() {
		n := 0
		for _, k := range keywords[intent] {
			n += strings.Count(text, k)
		}
		if n > bestN {
			best, bestN = intent, n
		}
	}
	return best
}

// TestKeywordsAreNotEnough keeps the task worth a model: a keyword router
// must do far better than chance, and must still miss the messages that
// use one intent's words for another's need.
func TestKeywordsAreNotEnough(t *testing.T) {
	test := loadSplit(t, "test.jsonl")
	right := 0
	for _, ex := range test.Examples {
		if keywordRoute(ex.Input) == ex.Expected {
			right++
		}
	}
	acc := float64(right) / float64(len(test.Examples))
	t.Logf("keyword router: %d of %d right (%.0f%%)", right, len(test.Examples), 100*acc)
	if acc < 0.4 || acc > 0.9 {
		t.Errorf("keyword accuracy %.2f, want between 0.4 and 0.9", acc)
	}
}

func TestKnowledgeAnswersQuestions(t *testing.T) {
	qs, err := dataset.Load(filepath.Join(dataDir, "questions.jsonl"), dataset.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(qs.Examples); n < 25 || n > 40 {
		t.Errorf("%d questions, want about 30", n)
	}
	docs, err := filepath.Glob(filepath.Join(dataDir, "knowledge", "*.md"))
	if err != nil || len(docs) < 5 || len(docs) > 8 {
		t.Fatalf("%d knowledge files (%v), want 5 to 8", len(docs), err)
	}
	used := map[string]bool{}
	for _, q := range qs.Examples {
		t.Run(q.ID, func(t *testing.T) {
			src := q.Meta["source"]
			used[src] = true
			text, err := os.ReadFile(filepath.Join(dataDir, "knowledge", src))
			if err != nil {
				t.Fatalf("meta.source: %v", err)
			}
			if !strings.Contains(strings.ToLower(string(text)), strings.ToLower(q.Expected)) {
				t.Errorf("answer %q is not in %s", q.Expected, src)
			}
		})
	}
	for _, d := range docs {
		if !used[filepath.Base(d)] {
			t.Errorf("no question draws on %s", filepath.Base(d))
		}
	}
}

func TestFill(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		name    string
		tpl     string
		options []string
		wantErr string
	}{
		{name: "choice", tpl: "{a|b}", options: []string{"a", "b"}},
		{name: "slot inside a choice", tpl: "{x {plan}|y}", options: []string{"x Northwind Plus", "x Plus", "x Plus Family", "y"}},
		{name: "empty choice leaves no double space", tpl: "one {|two} three", options: []string{"one three", "one two three"}},
		{name: "unknown slot", tpl: "{nope}", wantErr: "no values for slot {nope}"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for i := 0; i < 20; i++ {
				got, err := fill(rng, tc.tpl)
				if tc.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
						t.Fatalf("err = %v, want %q", err, tc.wantErr)
					}
					return
				}
				if err != nil || !slices.Contains(tc.options, got) {
					t.Fatalf("fill(%q) = %q, %v; want one of %q", tc.tpl, got, err, tc.options)
				}
			}
		})
	}
}

func TestEveryTemplateFills(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for intent, tpls := range templates {
		for _, tpl := range tpls {
			if out, err := fill(rng, tpl); err != nil || strings.ContainsAny(out, "{}|") {
				t.Errorf("%s: %q -> %q, %v", intent, tpl, out, err)
			}
		}
	}
}

func counts(exs []lab.Example) map[string]int {
	out := map[string]int{}
	for _, ex := range exs {
		out[ex.Expected]++
	}
	return out
}

// TestReadmeCounts keeps the numbers data/README.md quotes true.
func TestReadmeCounts(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(dataDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	qs, err := dataset.Load(filepath.Join(dataDir, "questions.jsonl"), dataset.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		want string
	}{
		{"train", "| `train.jsonl` | " + strconv.Itoa(len(loadSplit(t, "train.jsonl").Examples)) + " labelled"},
		{"test", "| `test.jsonl` | " + strconv.Itoa(len(loadSplit(t, "test.jsonl").Examples)) + " labelled"},
		{"questions", "| `questions.jsonl` | " + strconv.Itoa(len(qs.Examples)) + " customer questions"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(string(readme), tc.want) {
				t.Errorf("README.md does not say %q", tc.want)
			}
		})
	}
}
