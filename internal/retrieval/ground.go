package retrieval

import (
	"strings"
	"unicode"
)

// GroundedThreshold is the share of an answer's content words that must
// appear in the retrieved text for the answer to count as grounded; an
// answer below it is counted as a hallucination. Three quarters leaves
// room for a connective or a rephrased word, not for an invented fact.
const GroundedThreshold = 0.75

// stopwords carry no claim, so they neither ground nor ungrounded an answer.
var stopwords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an the and or but if of to in on at by for with from as is are was were be been
		being it its this that these those there here you your yours we our us i me my he she they them their his her
		do does did done can could will would shall should may might must not no yes so than then too very just
		about into over under up down out off again any all each both some such only own same what which who whom
		when where why how have has had having get got also per`) {
		m[w] = true
	}
	return m
}()

// ContentWords returns the distinct lower-cased words and numbers of s
// that are not stopwords, in order of first appearance.
func ContentWords(s string) []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		if stopwords[w] || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}

// Groundedness is the share of answer's content words found in the
// retrieved passages (a word also matches its singular or plural form).
// ok is false when the answer has no content words: an empty or
// all-stopword answer claims nothing, so it is neither grounded nor a
// hallucination.
func Groundedness(answer string, passages []string) (value float64, ok bool) {
	words := ContentWords(answer)
	if len(words) == 0 {
		return 0, false
	}
	have := map[string]bool{}
	for _, p := range passages {
		for _, w := range ContentWords(p) {
			have[w] = true
		}
	}
	found := 0
	for _, w := range words {
		if have[w] || have[strings.TrimSuffix(w, "s")] || have[w+"s"] {
			found++
		}
	}
	return float64(found) / float64(len(words)), true
}
