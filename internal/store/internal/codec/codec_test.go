package codec

import (
	"math"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
)

func TestJSON(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"html kept readable", map[string]string{"a": "<b>&</b>"}, `{"a":"<b>&</b>"}`},
		{"no trailing newline", []string{"x"}, `["x"]`},
		{"nil slice", []string(nil), `null`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := JSON(tc.in)
			if err != nil || got != tc.want {
				t.Fatalf("JSON = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestScores(t *testing.T) {
	if got, err := Scores(nil); got != nil || err != nil {
		t.Fatalf("Scores(nil) = %v, %v; want nil (SQL NULL)", got, err)
	}
	got, err := Scores(map[string]lab.Score{})
	if err != nil || got == nil || *got != "{}" {
		t.Fatalf("Scores(empty) = %v, %v; want {}", got, err)
	}
}

func TestCheckResult(t *testing.T) {
	ok := lab.CallResult{RunID: "r", Scores: map[string]lab.Score{"a": {Value: 1}}}
	tests := []struct {
		name    string
		change  func(r *lab.CallResult)
		wantErr string
	}{
		{"valid", func(*lab.CallResult) {}, ""},
		{"no run id", func(r *lab.CallResult) { r.RunID = "" }, "no run id"},
		{"NaN latency", func(r *lab.CallResult) { r.LatencyMS = math.NaN() }, "latency_ms is NaN"},
		{"-Inf cost", func(r *lab.CallResult) { r.Cost = math.Inf(-1) }, "cost is -Inf"},
		{"NaN score", func(r *lab.CallResult) { r.Scores = map[string]lab.Score{"f1": {Value: math.NaN()}} }, `score "f1"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.change(&r)
			err := CheckResult(r)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("CheckResult error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}
