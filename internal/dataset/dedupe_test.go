package dataset

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
)

const longTicket = "the parcel I ordered on monday for my sister has still not arrived and the tracking page has not changed in four days"

func groupsString(gs []Group) string {
	var parts []string
	for _, g := range gs {
		var ms []string
		for _, m := range g.Members {
			ms = append(ms, fmt.Sprintf("%s:%.3f", m.ID, m.Similarity))
		}
		c := ""
		if g.Conflict {
			c = " conflict"
		}
		parts = append(parts, fmt.Sprintf("%s[%s]%s", g.Kind, strings.Join(ms, " "), c))
	}
	return strings.Join(parts, "; ")
}

func idsOf(exs []lab.Example) string {
	var ids []string
	for _, ex := range exs {
		ids = append(ids, ex.ID)
	}
	return strings.Join(ids, ",")
}

func TestDedupe(t *testing.T) {
	ex := func(id, in, exp string) lab.Example { return lab.Example{ID: id, Input: in, Expected: exp} }
	cases := []struct {
		name       string
		exs        []lab.Example
		opts       DedupeOptions
		wantGroups string
		wantKept   string
	}{
		{name: "no duplicates",
			exs:      []lab.Example{ex("a", "refund please", "billing"), ex("b", "where is my parcel", "shipping")},
			wantKept: "a,b"},
		{name: "exact up to case and whitespace",
			exs:        []lab.Example{ex("a", "Refund  please", "billing"), ex("b", "where is my parcel", "shipping"), ex("c", " refund please\n", "billing")},
			wantGroups: "exact[a:1.000 c:1.000]", wantKept: "a,b"},
		{name: "punctuation only is a near duplicate with similarity one",
			exs:        []lab.Example{ex("a", longTicket, "shipping"), ex("b", longTicket+"!!", "shipping")},
			wantGroups: "near[a:1.000 b:1.000]", wantKept: "a"},
		{name: "last word changed is near",
			exs:        []lab.Example{ex("a", longTicket, "shipping"), ex("b", strings.Replace(longTicket, "four days", "four weeks", 1), "shipping")},
			wantGroups: "near[a:1.000 b:0.909]", wantKept: "a"},
		{name: "middle word changed is below 0.9",
			exs:      []lab.Example{ex("a", longTicket, "shipping"), ex("b", strings.Replace(longTicket, "sister", "brother", 1), "shipping")},
			wantKept: "a,b"},
		{name: "middle word changed is near at a lower threshold",
			exs:        []lab.Example{ex("a", longTicket, "shipping"), ex("b", strings.Replace(longTicket, "sister", "brother", 1), "shipping")},
			opts:       DedupeOptions{Threshold: 0.7},
			wantGroups: "near[a:1.000 b:0.750]", wantKept: "a"},
		{name: "exact only ignores near duplicates",
			exs:      []lab.Example{ex("a", longTicket, "shipping"), ex("b", longTicket+"!!", "shipping")},
			opts:     DedupeOptions{ExactOnly: true},
			wantKept: "a,b"},
		{name: "conflicting labels are flagged",
			exs:        []lab.Example{ex("a", "cancel my order", "shipping"), ex("b", "Cancel my order", "billing")},
			wantGroups: "exact[a:1.000 b:1.000] conflict", wantKept: "a"},
		{name: "exact and near in one group keep the first",
			exs: []lab.Example{ex("a", "hello", "x"), ex("b", longTicket+".", "shipping"), ex("c", longTicket, "shipping"),
				ex("d", strings.ToUpper(longTicket), "shipping")},
			wantGroups: "near[b:1.000 c:1.000 d:1.000]", wantKept: "a,b"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := Dedupe(tc.exs, tc.opts)
			if got := groupsString(res.Groups); got != tc.wantGroups {
				t.Errorf("groups %q, want %q", got, tc.wantGroups)
			}
			if got := idsOf(res.Kept); got != tc.wantKept {
				t.Errorf("kept %q, want %q", got, tc.wantKept)
			}
			if len(res.Kept)+len(res.Dropped) != len(tc.exs) {
				t.Errorf("kept %d + dropped %d != %d examples", len(res.Kept), len(res.Dropped), len(tc.exs))
			}
		})
	}
}

func TestLeakage(t *testing.T) {
	train := []lab.Example{
		{ID: "t1", Input: "Refund please"},
		{ID: "t2", Input: longTicket},
		{ID: "t3", Input: "refund PLEASE"},
	}
	cases := []struct {
		name string
		test []lab.Example
		opts DedupeOptions
		want string
	}{
		{name: "clean", test: []lab.Example{{ID: "x", Input: "reset my password"}}},
		{name: "exact leak to every copy", test: []lab.Example{{ID: "x", Input: "refund please"}},
			want: "t1~x exact 1.000, t3~x exact 1.000"},
		{name: "near leak", test: []lab.Example{{ID: "y", Input: strings.Replace(longTicket, "four days", "four weeks", 1)}},
			want: "t2~y near 0.909"},
		{name: "near leak not reported when exact only", test: []lab.Example{{ID: "y", Input: longTicket + "?"}},
			opts: DedupeOptions{ExactOnly: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, l := range Leakage(train, tc.test, tc.opts) {
				got = append(got, fmt.Sprintf("%s~%s %s %.3f", l.A, l.B, l.Kind, l.Similarity))
			}
			if g := strings.Join(got, ", "); g != tc.want {
				t.Errorf("leaks %q, want %q", g, tc.want)
			}
		})
	}
}

// TestNearMatchesBruteForce checks that banding proposes every pair an
// all-pairs comparison finds, on texts built to sit around the threshold.
func TestNearMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := strings.Fields("order parcel refund invoice login password account card charge late broken screen battery plan cancel address tracking delivery email code help please thanks week day")
	var exs []lab.Example
	for i := 0; i < 60; i++ {
		words := make([]string, 20+rng.IntN(20))
		for j := range words {
			words[j] = vocab[rng.IntN(len(vocab))]
		}
		exs = append(exs, lab.Example{ID: fmt.Sprintf("b%d", i), Input: strings.Join(words, " ")})
		for v := 0; v < 3; v++ { // variants with 0-2 words changed at random places
			w := append([]string(nil), words...)
			for c := rng.IntN(3); c > 0; c-- {
				w[rng.IntN(len(w))] = vocab[rng.IntN(len(vocab))]
			}
			exs = append(exs, lab.Example{ID: fmt.Sprintf("b%d-%d", i, v), Input: strings.Join(w, " ")})
		}
	}
	for _, thr := range []float64{0.5, 0.8, 0.9} {
		t.Run(fmt.Sprintf("threshold %.1f", thr), func(t *testing.T) {
			opts := DedupeOptions{Threshold: thr}.withDefaults()
			sets := make([][]uint64, len(exs))
			for i, ex := range exs {
				sets[i] = shingles(ex.Input, opts.Shingle)
			}
			uf := newUnionFind(len(exs))
			pairs := 0
			for i := range exs {
				for j := i + 1; j < len(exs); j++ {
					if normalizeExact(exs[i].Input) == normalizeExact(exs[j].Input) || jaccard(sets[i], sets[j]) >= thr {
						uf.union(i, j)
						pairs++
					}
				}
			}
			if pairs == 0 {
				t.Fatal("the generated texts hold no near pairs: the test proves nothing")
			}
			want := map[int][]string{}
			for i := range exs {
				want[uf.find(i)] = append(want[uf.find(i)], exs[i].ID)
			}
			var wantGroups []string
			for i := range exs {
				if ids := want[i]; len(ids) > 1 {
					wantGroups = append(wantGroups, strings.Join(ids, " "))
				}
			}
			var gotGroups []string
			for _, g := range Dedupe(exs, opts).Groups {
				var ids []string
				for _, m := range g.Members {
					ids = append(ids, m.ID)
				}
				gotGroups = append(gotGroups, strings.Join(ids, " "))
			}
			if strings.Join(gotGroups, "|") != strings.Join(wantGroups, "|") {
				t.Errorf("groups differ from all-pairs comparison\ngot  %v\nwant %v", gotGroups, wantGroups)
			}
		})
	}
}

func TestJaccardAndShingles(t *testing.T) {
	cases := []struct {
		name string
		a, b string
		k    int
		want float64
	}{
		{"identical", "a b c d", "a b c d", 2, 1},
		{"case and punctuation ignored", "A, b. C!", "a b c", 2, 1},
		{"disjoint", "a b c", "d e f", 2, 0},
		{"half", "a b c", "a b d", 2, 1.0 / 3},
		{"short texts are one shingle", "hi", "hi", 3, 1},
		{"no words", "!!!", "...", 3, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := jaccard(shingles(tc.a, tc.k), shingles(tc.b, tc.k)); fmt.Sprintf("%.4f", got) != fmt.Sprintf("%.4f", tc.want) {
				t.Errorf("jaccard = %.4f, want %.4f", got, tc.want)
			}
		})
	}
}

func BenchmarkDedupe(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 4))
	vocab := strings.Fields("order parcel refund invoice login password account card charge late broken screen battery plan cancel address tracking delivery email code help please thanks week day")
	exs := make([]lab.Example, 5000)
	for i := range exs {
		words := make([]string, 15+rng.IntN(30))
		for j := range words {
			words[j] = vocab[rng.IntN(len(vocab))]
		}
		exs[i] = lab.Example{ID: fmt.Sprint(i), Input: strings.Join(words, " ")}
	}
	b.ResetTimer()
	for b.Loop() {
		Dedupe(exs, DedupeOptions{})
	}
}
