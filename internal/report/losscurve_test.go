package report

import (
	"strings"
	"testing"
)

func TestLossCurveSVG(t *testing.T) {
	train := []CurvePoint{{1, 3.2}, {2, 2.5}, {3, 1.9}, {4, 1.7}}
	cases := []struct {
		name         string
		train, valid []CurvePoint
		want         []string
		empty        bool
	}{
		{"nothing to draw", nil, nil, nil, true},
		{"training only", train, nil, []string{"<polyline", "training loss"}, false},
		{"with validation dots", train, []CurvePoint{{2, 2.6}, {4, 1.8}}, []string{"<polyline", "validation loss", "<circle"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svg := string(LossCurveSVG(tc.train, tc.valid))
			if tc.empty != (svg == "") {
				t.Fatalf("empty=%v, got %d bytes", tc.empty, len(svg))
			}
			for _, w := range tc.want {
				if !strings.Contains(svg, w) {
					t.Errorf("no %q in the chart", w)
				}
			}
			if n := strings.Count(svg, "<circle"); n != len(tc.valid) {
				t.Errorf("%d dots, want one per validation (%d)", n, len(tc.valid))
			}
		})
	}
}
