package dataset

import (
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/testutil/golden"
)

// labelled makes n examples per label, with ids that do not follow the
// labels, so ordering by id mixes them.
func labelled(counts map[string]int) []lab.Example {
	var exs []lab.Example
	labels := []string{"billing", "login", "shipping", "defect", "rare"}
	for _, l := range labels {
		for i := 0; i < counts[l]; i++ {
			id := fmt.Sprintf("%08x", mix64(uint64(len(exs)+1))&0xffffffff)
			exs = append(exs, lab.Example{ID: id, Input: fmt.Sprintf("%s message %d", l, i), Expected: l})
		}
	}
	return exs
}

func countBy(exs []lab.Example) map[string]int {
	out := map[string]int{}
	for _, ex := range exs {
		out[ex.Expected]++
	}
	return out
}

// TestSplitGolden keeps the assignment of a fixed set under a fixed seed
// in testdata/split.golden: a change to the algorithm would silently move
// examples between a lab's splits, so it must show in review.
func TestSplitGolden(t *testing.T) {
	exs := labelled(map[string]int{"billing": 12, "login": 8, "shipping": 10, "rare": 2})
	s, err := Split(exs, Ratios{Train: 0.6, Validation: 0.2, Test: 0.2}, 7)
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	asg := s.Assignment()
	for _, ex := range exs {
		fmt.Fprintf(&got, "%s %-8s %s\n", ex.ID, ex.Expected, asg[ex.ID])
	}
	golden.Check(t, filepath.Join("testdata", "split.golden"), got.String())
}

func TestSplitStratified(t *testing.T) {
	cases := []struct {
		name   string
		counts map[string]int
		ratios Ratios
		// want counts per split and label, as "train/validation/test"
		want map[string]string
	}{
		{name: "75/25", counts: map[string]int{"billing": 40, "login": 20, "shipping": 13},
			ratios: Ratios{Train: 0.75, Test: 0.25},
			want:   map[string]string{"billing": "30/0/10", "login": "15/0/5", "shipping": "10/0/3"}},
		{name: "ratios are normalised", counts: map[string]int{"billing": 40, "login": 20, "shipping": 13},
			ratios: Ratios{Train: 3, Test: 1},
			want:   map[string]string{"billing": "30/0/10", "login": "15/0/5", "shipping": "10/0/3"}},
		{name: "three ways", counts: map[string]int{"billing": 10, "login": 20},
			ratios: Ratios{Train: 0.7, Validation: 0.1, Test: 0.2},
			want:   map[string]string{"billing": "7/1/2", "login": "14/2/4"}},
		{name: "rare labels are pooled", counts: map[string]int{"billing": 20, "rare": 3, "defect": 2},
			ratios: Ratios{Train: 0.5, Validation: 0.25, Test: 0.25},
			want:   map[string]string{"billing": "10/5/5"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			exs := labelled(tc.counts)
			s, err := Split(exs, tc.ratios, 42)
			if err != nil {
				t.Fatal(err)
			}
			tr, va, te := countBy(s.Train), countBy(s.Validation), countBy(s.Test)
			for label, want := range tc.want {
				if got := fmt.Sprintf("%d/%d/%d", tr[label], va[label], te[label]); got != want {
					t.Errorf("%s: %s, want %s", label, got, want)
				}
			}
			if n := len(s.Train) + len(s.Validation) + len(s.Test); n != len(exs) {
				t.Errorf("splits hold %d examples, want %d", n, len(exs))
			}
			seen := map[string]bool{}
			for _, part := range [][]lab.Example{s.Train, s.Validation, s.Test} {
				for _, ex := range part {
					if seen[ex.ID] {
						t.Errorf("%s is in two splits", ex.ID)
					}
					seen[ex.ID] = true
				}
			}
		})
	}
}

func TestSplitDeterminism(t *testing.T) {
	exs := labelled(map[string]int{"billing": 30, "login": 25, "shipping": 20})
	ratios := Ratios{Train: 0.7, Validation: 0.1, Test: 0.2}
	assign := func(exs []lab.Example, seed int64) string {
		t.Helper()
		s, err := Split(exs, ratios, seed)
		if err != nil {
			t.Fatal(err)
		}
		a := s.Assignment()
		var b strings.Builder
		for _, ex := range labelled(map[string]int{"billing": 30, "login": 25, "shipping": 20}) {
			if sp, ok := a[ex.ID]; ok {
				fmt.Fprintf(&b, "%s=%s ", ex.ID, sp)
			}
		}
		return b.String()
	}
	base := assign(exs, 1)
	shuffled := append([]lab.Example(nil), exs...)
	rand.New(rand.NewPCG(9, 9)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	var noShipping []lab.Example
	for _, ex := range exs {
		if ex.Expected != "shipping" {
			noShipping = append(noShipping, ex)
		}
	}
	cases := []struct {
		name string
		got  string
		want string
		same bool
	}{
		{"same seed, same split", assign(exs, 1), base, true},
		{"file order does not matter", assign(shuffled, 1), base, true},
		{"another seed, another split", assign(exs, 2), base, false},
		{"other labels do not move a label's examples", assign(noShipping, 1), onlyLabels(base, exs, "billing", "login"), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if (tc.got == tc.want) != tc.same {
				t.Errorf("assignment\n%s\nvs\n%s\nwant same=%v", tc.got, tc.want, tc.same)
			}
		})
	}
	t.Run("splits keep dataset order", func(t *testing.T) {
		s, _ := Split(exs, ratios, 1)
		pos := map[string]int{}
		for i, ex := range exs {
			pos[ex.ID] = i
		}
		for _, part := range [][]lab.Example{s.Train, s.Validation, s.Test} {
			for i := 1; i < len(part); i++ {
				if pos[part[i-1].ID] > pos[part[i].ID] {
					t.Fatalf("%s comes before %s", part[i-1].ID, part[i].ID)
				}
			}
		}
	})
}

func onlyLabels(assign string, exs []lab.Example, labels ...string) string {
	keep := map[string]bool{}
	for _, ex := range exs {
		for _, l := range labels {
			if ex.Expected == l {
				keep[ex.ID] = true
			}
		}
	}
	var b strings.Builder
	for _, f := range strings.Fields(assign) {
		if id, _, _ := strings.Cut(f, "="); keep[id] {
			b.WriteString(f + " ")
		}
	}
	return b.String()
}

func TestSplitFreeText(t *testing.T) {
	var exs []lab.Example
	for i := 0; i < 50; i++ {
		exs = append(exs, lab.Example{ID: fmt.Sprint(i), Input: fmt.Sprint("q", i), Expected: fmt.Sprint("answer ", i)})
	}
	s, err := Split(exs, Ratios{Train: 0.8, Test: 0.2}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Train) != 40 || len(s.Test) != 10 || len(s.Validation) != 0 {
		t.Errorf("split %d/%d/%d, want 40/0/10", len(s.Train), len(s.Validation), len(s.Test))
	}
}

func TestSplitBadRatios(t *testing.T) {
	cases := []struct {
		name   string
		ratios Ratios
		want   string
	}{
		{"all zero", Ratios{}, "all zero"},
		{"negative", Ratios{Train: 1, Test: -0.2}, "from 0 up"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Split(labelled(map[string]int{"billing": 3}), tc.ratios, 1)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestApportion(t *testing.T) {
	cases := []struct {
		name   string
		n      int
		ratios []float64
		want   string
	}{
		{"exact", 10, []float64{0.7, 0.1, 0.2}, "[7 1 2]"},
		{"largest remainder", 13, []float64{0.75, 0, 0.25}, "[10 0 3]"},
		{"zero share never gets one", 2, []float64{0.5, 0, 0.5}, "[1 0 1]"},
		{"one item", 1, []float64{0.6, 0.2, 0.2}, "[1 0 0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprint(apportion(tc.n, tc.ratios)); got != tc.want {
				t.Errorf("apportion(%d, %v) = %s, want %s", tc.n, tc.ratios, got, tc.want)
			}
		})
	}
}
