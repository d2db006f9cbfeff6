// Package score implements the scorers a task can declare (lab.ScorerSpec):
// how an answer is judged against an example. Deterministic scorers compare
// text, labels, patterns and JSON; graded scorers (f1, rouge-l, embedding,
// judge) give a value in [0, 1] and pass at a threshold. Every scorer is
// safe for concurrent use, since the runner scores many answers at once.
package score

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
)

// Deps is what some scorers need beyond their spec.
type Deps struct {
	// Labels is the task's label set, for the label scorer.
	Labels []string
	// TaskDescription goes into the judge's prompt.
	TaskDescription string
	// Judge answers the judge scorer's prompt with spec.Model.
	Judge provider.Provider
	// Embedder embeds answers for the embedding scorer with spec.Model.
	Embedder provider.Embedder
}

// Scorer types.
const (
	TypeExact      = "exact"
	TypeNormalized = "normalized"
	TypeLabel      = "label"
	TypeContains   = "contains"
	TypeRegex      = "regex"
	TypeJSONSchema = "json-schema"
	TypeJSONField  = "json-field"
	TypeF1         = "f1"
	TypeRougeL     = "rouge-l"
	TypeEmbedding  = "embedding"
	TypeJudge      = "judge"
)

// Default pass marks for graded scorers, used when spec.Threshold is 0.
const (
	DefaultOverlapThreshold   = 0.5  // f1, rouge-l
	DefaultEmbeddingThreshold = 0.8  // cosine similarity
	DefaultJudgeThreshold     = 0.75 // (score-1)/4: a 4 out of 5
)

type builder func(spec lab.ScorerSpec, deps Deps) (scoreFunc, error)

// scoreFunc judges one answer; the wrapper supplies the name.
type scoreFunc func(ctx context.Context, ex lab.Example, answer string) (lab.Score, error)

var builders = map[string]builder{
	TypeExact:      func(lab.ScorerSpec, Deps) (scoreFunc, error) { return exact, nil },
	TypeNormalized: func(lab.ScorerSpec, Deps) (scoreFunc, error) { return normalized, nil },
	TypeLabel:      newLabel,
	TypeContains:   func(lab.ScorerSpec, Deps) (scoreFunc, error) { return contains, nil },
	TypeRegex:      newRegex,
	TypeJSONSchema: newJSONSchema,
	TypeJSONField:  newJSONField,
	TypeF1:         newF1,
	TypeRougeL:     newRougeL,
	TypeEmbedding:  newEmbedding,
	TypeJudge:      newJudge,
}

// Types lists the known scorer types, sorted.
func Types() []string {
	out := make([]string, 0, len(builders))
	for t := range builders {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// New builds the scorer spec describes. Configuration mistakes (an unknown
// type, a bad pattern or schema, a missing model) are reported here, before
// any call is made, rather than on the first answer.
func New(spec lab.ScorerSpec, deps Deps) (lab.Scorer, error) {
	b, ok := builders[spec.Type]
	if !ok {
		if spec.Type == "" {
			return nil, fmt.Errorf("scorer has no type: set type to one of %s", strings.Join(Types(), ", "))
		}
		return nil, fmt.Errorf("unknown scorer type %q: known types are %s", spec.Type, strings.Join(Types(), ", "))
	}
	if spec.Threshold < 0 || spec.Threshold > 1 {
		return nil, fmt.Errorf("%s scorer: threshold %v is outside [0, 1]", spec.Type, spec.Threshold)
	}
	f, err := b(spec, deps)
	if err != nil {
		return nil, fmt.Errorf("%s scorer: %w", spec.Type, err)
	}
	name := spec.Name
	if name == "" {
		name = spec.Type
	}
	return &scorer{name: name, fn: f}, nil
}

type scorer struct {
	name string
	fn   scoreFunc
}

func (s *scorer) Name() string { return s.name }

func (s *scorer) Score(ctx context.Context, ex lab.Example, answer string) (lab.Score, error) {
	return s.fn(ctx, ex, answer)
}

// threshold returns the spec's pass mark or the scorer type's default.
func threshold(spec lab.ScorerSpec, def float64) float64 {
	if spec.Threshold > 0 {
		return spec.Threshold
	}
	return def
}

// needExpected refuses a case with no reference answer for scorers that
// compare against one: scoring it would silently fail every answer.
func needExpected(kind string, ex lab.Example) error {
	if strings.TrimSpace(ex.Expected) == "" {
		return fmt.Errorf("case %s has no expected answer, which the %s scorer compares against: add one or use a scorer that needs none (regex, json-schema, judge)", caseName(ex), kind)
	}
	return nil
}

func caseName(ex lab.Example) string {
	switch {
	case ex.Source != "" && ex.Line > 0:
		return fmt.Sprintf("%q (%s:%d)", ex.ID, ex.Source, ex.Line)
	case ex.ID != "":
		return fmt.Sprintf("%q", ex.ID)
	default:
		return "(no id)"
	}
}

func binary(pass bool, reason string) lab.Score {
	if pass {
		return lab.Score{Value: 1, Pass: true, Reason: reason}
	}
	return lab.Score{Value: 0, Pass: false, Reason: reason}
}

// clip shortens text quoted in a reason so one long answer cannot bloat
// every stored result.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
