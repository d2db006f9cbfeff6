package retrieval

import (
	"math"
	"strings"
	"testing"
)

func hits(ids ...string) []Hit {
	out := make([]Hit, len(ids))
	for i, id := range ids {
		doc, _, _ := strings.Cut(id, "#")
		out[i] = Hit{Chunk: Chunk{ID: id, DocID: doc}, Score: float64(100 - i)}
	}
	return out
}

func ids(hs []Hit) string {
	var s []string
	for _, h := range hs {
		s = append(s, h.Chunk.ID)
	}
	return strings.Join(s, ",")
}

func TestFuse(t *testing.T) {
	cases := []struct {
		name      string
		lists     [][]Hit
		k         int
		rrfK      float64
		want      string
		wantScore float64 // of the first hit
	}{
		{"single list keeps order", [][]Hit{hits("a#0", "b#0", "c#0")}, 0, 60, "a#0,b#0,c#0", 1.0 / 61},
		{"symmetric ranks tie, broken by id", [][]Hit{hits("a#0", "b#0", "c#0"), hits("c#0", "b#0", "a#0", "d#0")}, 0, 60, "a#0,c#0,b#0,d#0", 1.0/61 + 1.0/63},
		{"in both beats top of one", [][]Hit{hits("x#0", "b#0"), hits("y#0", "b#0")}, 0, 60, "b#0,x#0,y#0", 2.0 / 62},
		{"small rrfK favours top ranks", [][]Hit{hits("x#0", "q#0", "r#0", "s#0", "b#0"), hits("b#0")}, 2, 1, "b#0,x#0", 1.0/6 + 1.0/2},
		{"default rrfK", [][]Hit{hits("a#0")}, 1, 0, "a#0", 1.0 / 61},
		{"truncate to k", [][]Hit{hits("a#0", "b#0", "c#0")}, 2, 60, "a#0,b#0", 1.0 / 61},
		{"duplicate in a list counts once", [][]Hit{hits("a#0", "a#0", "b#0")}, 0, 60, "a#0,b#0", 1.0 / 61},
		{"empty", nil, 5, 60, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Fuse(tc.lists, tc.k, tc.rrfK)
			if ids(got) != tc.want {
				t.Fatalf("order %s, want %s", ids(got), tc.want)
			}
			if len(got) > 0 && math.Abs(got[0].Score-tc.wantScore) > 1e-12 {
				t.Errorf("top score %v, want %v", got[0].Score, tc.wantScore)
			}
		})
	}
}

func TestMetrics(t *testing.T) {
	ranked := hits("a#0", "b#0", "a#1", "c#0", "d#0")
	cases := []struct {
		name       string
		hits       []Hit
		relevant   []string
		k          int
		wantRecall float64
		wantMRR    float64
	}{
		{"top hit relevant", ranked, []string{"a"}, 1, 1, 1},
		{"second", ranked, []string{"b"}, 1, 0, 0.5},
		{"second within k", ranked, []string{"b"}, 2, 1, 0.5},
		{"two docs half found", ranked, []string{"c", "z"}, 5, 0.5, 0.25},
		{"chunks of one doc count once", ranked, []string{"a", "c"}, 3, 0.5, 1},
		{"k zero means all", ranked, []string{"d"}, 0, 1, 0.2},
		{"none relevant retrieved", ranked, []string{"z"}, 5, 0, 0},
		{"no labels", ranked, nil, 5, 0, 0},
		{"no hits", nil, []string{"a"}, 5, 0, 0},
		{"duplicate labels", ranked, []string{"b", "b"}, 2, 1, 0.5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := RecallAtK(tc.hits, tc.relevant, tc.k); math.Abs(got-tc.wantRecall) > 1e-12 {
				t.Errorf("recall@%d = %v, want %v", tc.k, got, tc.wantRecall)
			}
			if got := MRR(tc.hits, tc.relevant); math.Abs(got-tc.wantMRR) > 1e-12 {
				t.Errorf("MRR = %v, want %v", got, tc.wantMRR)
			}
		})
	}
}
