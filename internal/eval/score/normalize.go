package score

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// articles are dropped by Normalize, as in the SQuAD evaluation: "the Nile"
// and "Nile" are the same answer. English only; other languages keep their
// articles.
var articles = map[string]bool{"a": true, "an": true, "the": true}

// Normalize folds the differences that do not change an answer's meaning:
// Unicode compatibility forms (NFKC: full-width letters, ligatures,
// composed and decomposed accents), letter case, punctuation and symbols,
// the English articles a/an/the, and runs of whitespace. Dashes and
// underscores become spaces so that "not_spam", "not-spam" and "not spam"
// agree; other punctuation is deleted so that "U.S." matches "US" and
// "don't" matches "dont". Accents are kept: "résumé" and "resume" differ.
func Normalize(s string) string {
	return strings.Join(Tokens(s), " ")
}

// Tokens is Normalize split into words: the unit F1 and ROUGE-L count.
func Tokens(s string) []string {
	return tokenize(s, true, true)
}

// tokenize splits s into words after NFKC, turning dashes, underscores and
// whitespace into separators and deleting other punctuation and symbols.
// lower folds case; dropArticles removes a/an/the. With dropArticles off,
// the i-th token of the lowered and unlowered forms is the same word,
// which the label scorer relies on.
func tokenize(s string, lower, dropArticles bool) []string {
	s = norm.NFKC.String(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '_' || unicode.Is(unicode.Pd, r) || unicode.IsSpace(r):
			b.WriteByte(' ')
		case unicode.IsPunct(r) || unicode.IsSymbol(r):
			// dropped
		case lower:
			b.WriteRune(unicode.ToLower(r))
		default:
			b.WriteRune(r)
		}
	}
	fields := strings.Fields(b.String())
	if !dropArticles {
		return fields
	}
	out := fields[:0]
	for _, f := range fields {
		if !articles[f] {
			out = append(out, f)
		}
	}
	return out
}
