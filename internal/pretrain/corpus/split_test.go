package corpus

import (
	"fmt"
	"testing"
)

func manyDocs(n int) []Doc {
	docs := make([]Doc, n)
	for i := range docs {
		docs[i] = Doc{Source: "s", ID: fmt.Sprintf("d%05d", i), Text: "x"}
	}
	return docs
}

func ids(docs []Doc) map[string]bool {
	m := map[string]bool{}
	for _, d := range docs {
		m[d.Source+"/"+d.ID] = true
	}
	return m
}

func TestSplit(t *testing.T) {
	docs := manyDocs(5000)
	cases := []struct {
		name             string
		heldOut          float64
		minHeld, maxHeld int
	}{
		{"none", 0, 0, 0},
		{"negative means none", -0.5, 0, 0},
		{"all", 1, 5000, 5000},
		{"ten percent", 0.1, 425, 575},
		{"half", 0.5, 2350, 2650},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			train, held := Split(docs, tc.heldOut, 7)
			if len(train)+len(held) != len(docs) {
				t.Fatalf("%d + %d docs, want %d", len(train), len(held), len(docs))
			}
			if len(held) < tc.minHeld || len(held) > tc.maxHeld {
				t.Errorf("%d held out, want %d..%d", len(held), tc.minHeld, tc.maxHeld)
			}
			tr := ids(train)
			for id := range ids(held) {
				if tr[id] {
					t.Errorf("%s is in both sides", id)
				}
			}
		})
	}
}

func TestSplitIsStable(t *testing.T) {
	docs := manyDocs(2000)
	_, held := Split(docs, 0.2, 42)
	want := ids(held)

	reversed := make([]Doc, len(docs))
	for i, d := range docs {
		reversed[len(docs)-1-i] = d
	}
	cases := []struct {
		name     string
		docs     []Doc
		seed     uint64
		wantSame bool
	}{
		{"same input again", docs, 42, true},
		{"reversed order", reversed, 42, true},
		{"subset keeps each doc's side", docs[:500], 42, true},
		{"other seed differs", docs, 43, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, h := Split(tc.docs, 0.2, tc.seed)
			got := ids(h)
			same := true
			for _, d := range tc.docs {
				k := d.Source + "/" + d.ID
				if got[k] != want[k] {
					same = false
				}
			}
			if same != tc.wantSame {
				t.Errorf("same assignment = %v, want %v", same, tc.wantSame)
			}
		})
	}
}

func TestSplitKeepsOrder(t *testing.T) {
	train, held := Split(manyDocs(300), 0.3, 1)
	for _, side := range [][]Doc{train, held} {
		for i := 1; i < len(side); i++ {
			if side[i-1].ID >= side[i].ID {
				t.Fatalf("order broken at %s, %s", side[i-1].ID, side[i].ID)
			}
		}
	}
}
