package eval

import (
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
)

// NewRequest is the request a candidate sends for rendered messages. The
// gateway builds its calls through it too, so a deployed candidate asks its
// model exactly what the evaluation measured.
func NewRequest(c lab.Candidate, v lab.Variant, msgs []provider.Message) (provider.Request, error) {
	return buildRequest(c, v, msgs)
}
