package server

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
)

// validity checks what can be checked of a live answer without a
// reference: a label task's answer is one of its labels, a JSON task's is
// well-formed JSON, a text task's is not empty. It is the monitor's
// quality signal when no judge model is configured.
type validity struct{ task lab.Task }

// ValidityScorer returns the reference-free check for task.
func ValidityScorer(task lab.Task) lab.Scorer { return validity{task} }

func (validity) Name() string { return "valid" }

func (v validity) Score(_ context.Context, _ lab.Example, answer string) (lab.Score, error) {
	a := strings.TrimSpace(answer)
	ok, why := a != "", "empty answer"
	switch v.task.Output {
	case lab.OutputLabel:
		ok, why = false, fmt.Sprintf("%q is not one of the task's labels", clip(a, 60))
		for _, l := range v.task.Labels {
			if strings.EqualFold(a, l) {
				ok, why = true, ""
			}
		}
	case lab.OutputJSON:
		ok, why = json.Valid([]byte(a)), "not well-formed JSON"
	}
	if ok {
		return lab.Score{Value: 1, Pass: true}, nil
	}
	return lab.Score{Value: 0, Reason: why}, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
