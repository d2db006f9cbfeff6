package dataset

import (
	"fmt"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
)

func TestEstimateTokens(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want int
	}{
		{"empty", "", 0},
		{"short words and a mark", "I am still waiting on my card?", 8},
		{"long word splits", "internationalisation", 3}, // 20 letters: 1 + (20-6)/5
		{"ten letters is one", "everything", 1},
		{"contraction", "hasn't", 3},
		{"digits are a word", "order 12345", 2},
		{"symbols count one each", "a+b=c", 5},
		{"CJK one per character", "退款申请", 4},
		{"accented letters stay in the word", "café crème", 2},
		{"whitespace only", " \n\t ", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := EstimateTokens(tc.in); got != tc.want {
				t.Errorf("EstimateTokens(%q) = %d, want %d", tc.in, got, tc.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	sorted := []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	cases := []struct {
		name string
		xs   []int
		p    float64
		want int
	}{
		{"median of ten", sorted, 50, 5},
		{"p90", sorted, 90, 9},
		{"p95 rounds up", sorted, 95, 10},
		{"p0 is the minimum", sorted, 0, 1},
		{"p100 is the maximum", sorted, 100, 10},
		{"none", nil, 50, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.xs, tc.p); got != tc.want {
				t.Errorf("Percentile(p%.0f) = %d, want %d", tc.p, got, tc.want)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	words := func(s string) int { return len(strings.Fields(s)) }
	exs := []lab.Example{
		{ID: "1", Input: "a b c", Expected: "billing"},
		{ID: "2", Input: "a b c d e", Expected: "shipping"},
		{ID: "3", Input: "a", Expected: "billing"},
		{ID: "4", Input: " ", Expected: ""},
	}
	cases := []struct {
		name  string
		count func(string) int
		check func(Stats) string
		want  string
	}{
		{name: "labels by count then name", count: words,
			check: func(s Stats) string {
				var parts []string
				for _, l := range s.Labels {
					parts = append(parts, fmt.Sprintf("%q=%d(%.2f)", l.Label, l.Count, l.Share))
				}
				return strings.Join(parts, " ")
			},
			want: `"billing"=2(0.50) ""=1(0.25) "shipping"=1(0.25)`},
		{name: "empties", count: words,
			check: func(s Stats) string {
				return fmt.Sprintf("%d examples, %d empty inputs, %d empty expected", s.Examples, s.EmptyInput, s.EmptyExpected)
			},
			want: "4 examples, 1 empty inputs, 1 empty expected"},
		{name: "input token distribution", count: words,
			check: func(s Stats) string { return fmt.Sprintf("%+v", s.InputTokens) },
			want:  "{Min:0 P50:1 P90:5 P95:5 P99:5 Max:5 Mean:2.25 Total:9}"},
		{name: "default counter is the estimate", count: nil,
			check: func(s Stats) string { return fmt.Sprint(s.ExpectedTokens.Total) },
			want:  "3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.check(Describe(exs, tc.count)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}
