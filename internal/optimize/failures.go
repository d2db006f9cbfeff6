package optimize

import (
	"sort"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
)

// Labels used in failure groups for answers that are not a plain value.
const (
	GotError    = "(error)"
	GotEmpty    = "(empty)"
	GotNotLabel = "(not a label)"
)

// maxGroupExamples bounds the examples kept per failure group.
const maxGroupExamples = 3

// FailureGroup is the failed cases that share one mistake.
type FailureGroup struct {
	Expected string       `json:"expected"`
	Got      string       `json:"got"`
	Count    int          `json:"count"`
	Examples []CaseResult `json:"examples"` // the first few, in case order
}

// Failures groups the failed cases of results by the mistake made
// (expected -> got), most frequent first. For label tasks an answer is
// matched to a label ignoring case and surrounding punctuation, and any
// other answer counts as GotNotLabel, so one confusion is one row.
func Failures(task lab.Task, results []CaseResult) []FailureGroup {
	type key struct{ expected, got string }
	idx := map[key]int{}
	var groups []FailureGroup
	for _, c := range results {
		if c.Pass && c.Error == "" {
			continue
		}
		k := key{c.Expected, gotPattern(task, c)}
		i, ok := idx[k]
		if !ok {
			i = len(groups)
			idx[k] = i
			groups = append(groups, FailureGroup{Expected: k.expected, Got: k.got})
		}
		g := &groups[i]
		g.Count++
		if len(g.Examples) < maxGroupExamples {
			g.Examples = append(g.Examples, c)
		}
	}
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		if a.Expected != b.Expected {
			return a.Expected < b.Expected
		}
		return a.Got < b.Got
	})
	return groups
}

func gotPattern(task lab.Task, c CaseResult) string {
	if c.Error != "" {
		return GotError
	}
	ans := strings.TrimSpace(c.Answer)
	if ans == "" {
		return GotEmpty
	}
	if task.Output == lab.OutputLabel && len(task.Labels) > 0 {
		bare := strings.Trim(ans, " \t\n\"'`.*:;,!")
		for _, l := range task.Labels {
			if strings.EqualFold(bare, l) {
				return l
			}
		}
		return GotNotLabel
	}
	return oneLine(ans, 80)
}
