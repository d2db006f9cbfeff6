package score

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
)

// apiModel turns the scorer's model, written PROVIDER:MODEL in the config,
// into the model name the backend's API expects; a bare name passes through.
func apiModel(m string) string {
	if ref, err := provider.ParseRef(m); err == nil {
		return ref.Model
	}
	return strings.TrimSpace(m)
}

func newEmbedding(spec lab.ScorerSpec, deps Deps) (scoreFunc, error) {
	if strings.TrimSpace(spec.Model) == "" {
		return nil, errors.New("model is empty: set model to an embedding model, e.g. openai:text-embedding-3-small")
	}
	if deps.Embedder == nil {
		return nil, fmt.Errorf("model %s cannot compute embeddings: choose a backend that offers them", spec.Model)
	}
	th := threshold(spec, DefaultEmbeddingThreshold)
	model := apiModel(spec.Model)
	return func(ctx context.Context, ex lab.Example, answer string) (lab.Score, error) {
		if err := needExpected(TypeEmbedding, ex); err != nil {
			return lab.Score{}, err
		}
		// Many embedding APIs reject empty input, and an empty answer
		// means nothing anyway.
		if strings.TrimSpace(answer) == "" {
			return lab.Score{Value: 0, Pass: false, Reason: "empty answer"}, nil
		}
		vecs, _, err := deps.Embedder.Embed(ctx, model, []string{answer, ex.Expected})
		if err != nil {
			return lab.Score{}, fmt.Errorf("embed with %s: %w", spec.Model, err)
		}
		if len(vecs) != 2 {
			return lab.Score{}, fmt.Errorf("embed with %s: asked for 2 vectors, got %d", spec.Model, len(vecs))
		}
		cos, err := Cosine(vecs[0], vecs[1])
		if err != nil {
			return lab.Score{}, fmt.Errorf("embed with %s: %w", spec.Model, err)
		}
		// Score values live in [0, 1]; an opposed pair is simply 0.
		v := math.Max(cos, 0)
		return lab.Score{Value: v, Pass: cos >= th, Reason: fmt.Sprintf("cosine similarity %.3f (pass at %.2f)", cos, th)}, nil
	}, nil
}

// Cosine is the cosine similarity of two vectors, computed in float64.
func Cosine(a, b []float32) (float64, error) {
	if len(a) == 0 || len(a) != len(b) {
		return 0, fmt.Errorf("vectors of length %d and %d cannot be compared", len(a), len(b))
	}
	var dot, na, nb float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
	}
	if na == 0 || nb == 0 {
		return 0, errors.New("a zero vector has no direction")
	}
	c := dot / (math.Sqrt(na) * math.Sqrt(nb))
	return math.Max(-1, math.Min(1, c)), nil
}
