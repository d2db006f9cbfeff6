package score

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
)

type labelSet struct {
	labels []string   // as the task wrote them
	tokens [][]string // folded (case, spacing, _ and -), articles kept
	raw    [][]string // the same words in their written case
}

// foldLabel folds a label or an answer for label matching. It keeps
// articles, unlike Normalize: multiple-choice labels "A" to "D" must not
// vanish.
func foldLabel(s string) []string { return tokenize(s, true, false) }

func newLabel(_ lab.ScorerSpec, deps Deps) (scoreFunc, error) {
	if len(deps.Labels) == 0 {
		return nil, errors.New("the task lists no labels: add them under task.labels")
	}
	ls := labelSet{}
	seen := map[string]string{}
	for _, l := range deps.Labels {
		toks := foldLabel(l)
		if len(toks) == 0 {
			return nil, fmt.Errorf("label %q is empty once punctuation is removed: rename it", l)
		}
		key := strings.Join(toks, " ")
		if prev, dup := seen[key]; dup {
			return nil, fmt.Errorf("labels %q and %q are the same once case, spacing, _ and - are folded: an answer could not tell them apart", prev, l)
		}
		seen[key] = l
		ls.labels = append(ls.labels, l)
		ls.tokens = append(ls.tokens, toks)
		ls.raw = append(ls.raw, tokenize(l, false, false))
	}
	return ls.score, nil
}

// predict maps an answer to one of the labels: an answer that is exactly a
// label (after normalising) is that label; otherwise the answer must
// mention exactly one label as whole words. A label mentioned only inside a
// longer label ("spam" inside "not spam") does not count, so "this is not
// spam" predicts "not spam". Mentioning two different labels is ambiguous
// and predicts nothing; mentioning the same label twice is fine. A label
// that is also an English article ("A" in a multiple-choice task) is only
// found inside a sentence in its written case, so "a" in "this is a hard
// one, the answer is B" is read as the article.
func (ls labelSet) predict(answer string) (label string, reason string) {
	ans := foldLabel(answer)
	if len(ans) == 0 {
		return "", "empty answer: no label"
	}
	for i, t := range ls.tokens {
		if slices.Equal(ans, t) {
			return ls.labels[i], fmt.Sprintf("predicted %q", ls.labels[i])
		}
	}
	// Spans [start, end) of every mention of every label.
	type span struct{ label, start, end int }
	var spans []span
	var ansRaw []string
	for i, t := range ls.tokens {
		hay, needle := ans, t
		if len(t) == 1 && articles[t[0]] {
			if ansRaw == nil {
				ansRaw = tokenize(answer, false, false)
			}
			hay, needle = ansRaw, ls.raw[i]
		}
		for _, s := range findSeq(hay, needle) {
			spans = append(spans, span{i, s, s + len(t)})
		}
	}
	var found []int
	for _, s := range spans {
		inside := false
		for _, o := range spans {
			if o.label != s.label && o.end-o.start > s.end-s.start && o.start <= s.start && s.end <= o.end {
				inside = true
				break
			}
		}
		if !inside && !slices.Contains(found, s.label) {
			found = append(found, s.label)
		}
	}
	switch len(found) {
	case 0:
		return "", "no label found in answer"
	case 1:
		return ls.labels[found[0]], fmt.Sprintf("predicted %q", ls.labels[found[0]])
	default:
		names := make([]string, len(found))
		for i, f := range found {
			names[i] = fmt.Sprintf("%q", ls.labels[f])
		}
		return "", "ambiguous: answer mentions " + strings.Join(names, " and ")
	}
}

func (ls labelSet) score(_ context.Context, ex lab.Example, answer string) (lab.Score, error) {
	if err := needExpected(TypeLabel, ex); err != nil {
		return lab.Score{}, err
	}
	pred, reason := ls.predict(answer)
	if pred == "" {
		return binary(false, reason), nil
	}
	pass := slices.Equal(foldLabel(pred), foldLabel(ex.Expected))
	if !pass {
		reason += fmt.Sprintf(", expected %q", ex.Expected)
	}
	return binary(pass, reason), nil
}
