package reading

import (
	"bufio"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/eval/score"
)

const (
	exampleKnowledge = "../../example/data/knowledge"
	exampleQuestions = "../../example/data/questions.jsonl"
)

func exampleFacts(t *testing.T) []string {
	t.Helper()
	facts, err := ExampleFacts(exampleKnowledge, exampleQuestions)
	if err != nil {
		t.Fatal(err)
	}
	return facts
}

func TestGenerateDeterministic(t *testing.T) {
	forbid := exampleFacts(t)
	cases := []struct {
		name string
		a, b Options
		n    int
		same bool
	}{
		{name: "same seed", a: Options{Seed: 3, Forbid: forbid}, b: Options{Seed: 3, Forbid: forbid}, n: 5, same: true},
		{name: "other seed", a: Options{Seed: 3, Forbid: forbid}, b: Options{Seed: 4, Forbid: forbid}, n: 5, same: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x, err := Generate(tc.n, tc.a)
			if err != nil {
				t.Fatal(err)
			}
			y, err := Generate(tc.n, tc.b)
			if err != nil {
				t.Fatal(err)
			}
			if got := reflect.DeepEqual(x, y); got != tc.same {
				t.Fatalf("shops equal = %v, want %v", got, tc.same)
			}
		})
	}
	t.Run("prefix", func(t *testing.T) {
		small, _ := Generate(3, Options{Seed: 9, Forbid: forbid})
		big, _ := Generate(6, Options{Seed: 9, Forbid: forbid})
		if !reflect.DeepEqual(small, big[:3]) {
			t.Fatal("the first shops of a larger set differ from a smaller set's")
		}
	})
}

// TestNoExampleFacts is the leakage check: no generated value, bold span or
// question may carry a fact of the example lab, and no page may name its
// shop or products.
func TestNoExampleFacts(t *testing.T) {
	facts := exampleFacts(t)
	if len(facts) < 32 {
		t.Fatalf("read only %d example facts; the example knowledge or questions moved", len(facts))
	}
	realQs := map[string]bool{}
	f, err := os.Open(exampleQuestions)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var q struct{ Input string }
		if err := json.Unmarshal(sc.Bytes(), &q); err != nil {
			t.Fatal(err)
		}
		realQs[score.Normalize(q.Input)] = true
	}
	shops, err := Generate(300, Options{Seed: 1, Forbid: facts})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"northwind", "tempo", "pulse band", "volt 20k", "hub mini", "nimbus", "orbit", "breeze", "glide", "lumen", "parcelway", "reno"}
	var values, qs int
	for _, s := range shops {
		var spans []string
		for _, p := range s.Pages {
			spans = append(spans, BoldSpans(p.Text)...)
			low := strings.ToLower(p.Text)
			for _, n := range names {
				if strings.Contains(low, n) {
					t.Errorf("shop %q page %s names %q from the example lab", s.Name, p.File, n)
				}
			}
		}
		for _, v := range append(spans, s.Values...) {
			values++
			for _, fact := range facts {
				if containsSeq(score.Tokens(v), score.Tokens(fact)) {
					t.Errorf("shop %q value %q contains the example fact %q", s.Name, v, fact)
				}
			}
		}
		for _, q := range s.Questions {
			qs++
			if realQs[score.Normalize(q.Input)] {
				t.Errorf("shop %q asks an example question verbatim: %q", s.Name, q.Input)
			}
		}
	}
	if values < 300*20 || qs < 300*20 {
		t.Fatalf("only %d values and %d questions in 300 shops", values, qs)
	}
}

// TestAnswersOnPage checks that every question's answer is written on its
// page (bold facts as a bold span), so that reading can answer it.
func TestAnswersOnPage(t *testing.T) {
	shops, err := Generate(50, Options{Seed: 2, Forbid: exampleFacts(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shops {
		if len(s.Pages) != 8 {
			t.Fatalf("shop %q has %d pages, want 8", s.Name, len(s.Pages))
		}
		pages := map[string]string{}
		for _, p := range s.Pages {
			pages[p.File] = strings.Join(strings.Fields(p.Text), " ")
		}
		for _, q := range s.Questions {
			text, ok := pages[q.File]
			if !ok {
				t.Fatalf("question %s names page %s, which the shop lacks", q.ID, q.File)
			}
			if !strings.Contains(text, q.Answer) {
				t.Errorf("question %s (%q): answer %q is not on %s", q.ID, q.Input, q.Answer, q.File)
			}
			if strings.Contains(q.Input, "{") {
				t.Errorf("question %s has an unfilled placeholder: %q", q.ID, q.Input)
			}
		}
		for _, p := range s.Pages {
			if strings.Contains(p.Text, "{") {
				t.Errorf("shop %q page %s has an unfilled placeholder", s.Name, p.File)
			}
		}
	}
}

func TestBoldSpans(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{name: "one", in: "pay **$5.95** now", want: []string{"$5.95"}},
		{name: "across a line", in: "within **7\n  days** and **Menu > A**", want: []string{"7 days", "Menu > A"}},
		{name: "none", in: "plain text", want: nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := BoldSpans(tc.in); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("BoldSpans(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
