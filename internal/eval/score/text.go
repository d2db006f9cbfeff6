package score

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
)

// exact passes when the answer equals the expected text after trimming
// surrounding whitespace, which models add and nobody means. An empty
// expected answer is allowed: it asks for an empty answer.
func exact(_ context.Context, ex lab.Example, answer string) (lab.Score, error) {
	got, want := strings.TrimSpace(answer), strings.TrimSpace(ex.Expected)
	if got == want {
		return binary(true, ""), nil
	}
	return binary(false, fmt.Sprintf("answer %q is not %q", clip(got, 80), clip(want, 80))), nil
}

// normalized passes when answer and expected agree after Normalize.
func normalized(_ context.Context, ex lab.Example, answer string) (lab.Score, error) {
	got, want := Normalize(answer), Normalize(ex.Expected)
	if got == want {
		return binary(true, ""), nil
	}
	return binary(false, fmt.Sprintf("normalised answer %q is not %q", clip(got, 80), clip(want, 80))), nil
}

// contains passes when the normalised expected text appears in the
// normalised answer as whole words: "Paris" is found in "It is Paris." but
// "art" is not found in "Mozart".
func contains(_ context.Context, ex lab.Example, answer string) (lab.Score, error) {
	if err := needExpected(TypeContains, ex); err != nil {
		return lab.Score{}, err
	}
	want := Tokens(ex.Expected)
	if len(want) == 0 {
		return lab.Score{}, fmt.Errorf("case %s: expected answer %q is empty once normalised (only punctuation or articles)", caseName(ex), ex.Expected)
	}
	if len(findSeq(Tokens(answer), want)) > 0 {
		return binary(true, ""), nil
	}
	return binary(false, fmt.Sprintf("answer does not contain %q", clip(ex.Expected, 80))), nil
}

// findSeq returns the start index of every occurrence of needle in hay.
func findSeq(hay, needle []string) []int {
	var out []int
	if len(needle) == 0 {
		return nil
	}
	for i := 0; i+len(needle) <= len(hay); i++ {
		match := true
		for j, w := range needle {
			if hay[i+j] != w {
				match = false
				break
			}
		}
		if match {
			out = append(out, i)
		}
	}
	return out
}

func newRegex(spec lab.ScorerSpec, _ Deps) (scoreFunc, error) {
	if spec.Pattern == "" {
		return nil, errors.New("pattern is empty: set pattern to the regular expression (Go RE2 syntax) a passing answer must match")
	}
	re, err := regexp.Compile(spec.Pattern)
	if err != nil {
		return nil, fmt.Errorf("pattern %q does not compile (Go RE2 syntax): %w", spec.Pattern, err)
	}
	return func(_ context.Context, _ lab.Example, answer string) (lab.Score, error) {
		if re.MatchString(answer) {
			return binary(true, ""), nil
		}
		return binary(false, fmt.Sprintf("answer does not match /%s/", spec.Pattern)), nil
	}, nil
}
