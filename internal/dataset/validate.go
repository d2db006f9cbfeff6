package dataset

import (
	"fmt"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
)

// Rules are what a task asks of its examples.
type Rules struct {
	// Labels, when set, are the only expected outputs allowed.
	Labels []string
	// MaxTokens caps input plus expected output, in tokens (0: no cap).
	MaxTokens int
	// CountTokens counts tokens; nil uses EstimateTokens.
	CountTokens func(string) int
	// AllowEmptyExpected accepts rows with no expected output, for tasks
	// scored by a judge alone.
	AllowEmptyExpected bool
}

// Issue is one problem Validate found with an example.
type Issue struct {
	ID     string
	Source string
	Line   int
	Field  string // empty when the problem is the row as a whole
	Msg    string
}

func (i Issue) String() string {
	var b strings.Builder
	if i.Source != "" {
		b.WriteString(i.Source)
		if i.Line > 0 {
			fmt.Fprintf(&b, ":%d", i.Line)
		}
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "id %s: ", i.ID)
	if i.Field != "" {
		fmt.Fprintf(&b, "field %q: ", i.Field)
	}
	b.WriteString(i.Msg)
	return b.String()
}

// Validate checks examples against rules and returns every problem, in
// example order: empty inputs and expected outputs, labels outside the
// task's set, rows over the token cap, and the same input given two
// different expected outputs (which caps any model's score below 100%).
func Validate(exs []lab.Example, r Rules) []Issue {
	count := r.CountTokens
	if count == nil {
		count = EstimateTokens
	}
	allowed := map[string]bool{}
	for _, l := range r.Labels {
		allowed[l] = true
	}
	firstByInput := map[string]int{}
	var out []Issue
	for i, ex := range exs {
		issue := func(field, msg string) {
			out = append(out, Issue{ID: ex.ID, Source: ex.Source, Line: ex.Line, Field: field, Msg: msg})
		}
		if strings.TrimSpace(ex.Input) == "" {
			issue("input", "empty")
		}
		switch {
		case strings.TrimSpace(ex.Expected) == "":
			if !r.AllowEmptyExpected {
				issue("expected", "empty")
			}
		case len(allowed) > 0 && !allowed[ex.Expected]:
			issue("expected", labelHint(ex.Expected, r.Labels))
		}
		if r.MaxTokens > 0 {
			in, exp := count(ex.Input), count(ex.Expected)
			if in+exp > r.MaxTokens {
				issue("", fmt.Sprintf("about %d tokens (input %d + expected %d), over the limit of %d; shorten the row or raise the limit", in+exp, in, exp, r.MaxTokens))
			}
		}
		key := normalizeExact(ex.Input)
		if key == "" {
			continue
		}
		if j, seen := firstByInput[key]; seen {
			if other := exs[j]; other.Expected != ex.Expected {
				issue("expected", fmt.Sprintf("%q, but id %s%s has the same input with %q; decide which is right", ex.Expected, other.ID, lineNote(other), other.Expected))
			}
		} else {
			firstByInput[key] = i
		}
	}
	return out
}

func lineNote(ex lab.Example) string {
	if ex.Line > 0 {
		return fmt.Sprintf(" (line %d)", ex.Line)
	}
	return ""
}

// labelHint explains a label outside the allowed set, naming the closest
// allowed label when the difference looks like a typo or a case slip.
func labelHint(got string, labels []string) string {
	norm := strings.ToLower(strings.TrimSpace(got))
	for _, l := range labels {
		if strings.ToLower(strings.TrimSpace(l)) == norm {
			return fmt.Sprintf("%q is not a label; it differs from %q only in case or spacing", got, l)
		}
	}
	best, bestD := "", 0
	for _, l := range labels {
		d := editDistance(norm, strings.ToLower(l))
		if best == "" || d < bestD {
			best, bestD = l, d
		}
	}
	if best != "" && bestD <= max(2, len([]rune(best))/4) {
		return fmt.Sprintf("%q is not a label; did you mean %q?", got, best)
	}
	return fmt.Sprintf("%q is not a label (labels: %s)", got, strings.Join(labels, ", "))
}

// editDistance is the Levenshtein distance between a and b, in runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
