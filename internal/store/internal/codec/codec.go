// Package codec holds what the store backends share about turning tunelab's
// domain values into columns: JSON encoding of the nested fields and the
// checks that keep both backends refusing the same bad input, so a value
// that one store accepts the other does too.
package codec

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
)

// JSON encodes v compactly without HTML escaping, so prompts and outputs
// holding <, > or & stay readable when someone inspects the database.
func JSON(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
}

// Scores encodes a result's scores; nil stays nil (SQL NULL) so that a
// result without scores reads back with a nil map, not an empty one.
func Scores(m map[string]lab.Score) (*string, error) {
	if m == nil {
		return nil, nil
	}
	s, err := JSON(m)
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// CheckRun refuses a run the stores cannot key.
func CheckRun(run lab.RunInfo) error {
	if run.ID == "" {
		return fmt.Errorf("run has no id")
	}
	return nil
}

// CheckResult refuses a result the stores cannot keep faithfully. SQLite
// turns NaN into NULL and JSON has no NaN or infinity, so non-finite numbers
// are refused up front rather than stored as something else.
func CheckResult(r lab.CallResult) error {
	if r.RunID == "" {
		return fmt.Errorf("result has no run id")
	}
	for field, v := range map[string]float64{"latency_ms": r.LatencyMS, "cost": r.Cost} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("field %s is %v: only finite numbers can be stored", field, v)
		}
	}
	for name, s := range r.Scores {
		if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			return fmt.Errorf("score %q value is %v: only finite numbers can be stored", name, s.Value)
		}
	}
	return nil
}

// NUL is the one character PostgreSQL's text and jsonb cannot hold; a small
// model can emit it. Both stores keep it as U+FFFD, the replacement
// character, so a result reads back the same from either.
const nulReplacement = "\uFFFD"

// CleanResult returns r with every NUL in its text (output, answer, error
// and score reasons) replaced by U+FFFD.
func CleanResult(r lab.CallResult) lab.CallResult {
	clean := func(s string) string { return strings.ReplaceAll(s, "\x00", nulReplacement) }
	r.Output, r.Answer, r.Error = clean(r.Output), clean(r.Answer), clean(r.Error)
	if r.Scores != nil {
		// A copy: the caller's map stays as it was.
		scores := make(map[string]lab.Score, len(r.Scores))
		for name, sc := range r.Scores {
			sc.Reason = clean(sc.Reason)
			scores[name] = sc
		}
		r.Scores = scores
	}
	return r
}

// Describe names a result in error messages.
func Describe(r lab.CallResult) string {
	return fmt.Sprintf("result run=%s candidate=%s case=%s repeat=%d", r.RunID, r.CandidateID, r.CaseID, r.Repeat)
}
