package dataset

import (
	"sort"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
)

// DedupeOptions tune duplicate detection.
type DedupeOptions struct {
	// Threshold is the Jaccard similarity of two inputs' word shingles at
	// or above which they are near duplicates (default 0.9).
	Threshold float64
	// Shingle is the number of words per shingle (default 3). Texts shorter
	// than that are one shingle.
	Shingle int
	// ExactOnly skips near-duplicate detection.
	ExactOnly bool
}

func (o DedupeOptions) withDefaults() DedupeOptions {
	if o.Threshold <= 0 {
		o.Threshold = 0.9
	}
	if o.Threshold > 1 {
		o.Threshold = 1
	}
	if o.Shingle <= 0 {
		o.Shingle = 3
	}
	return o
}

// How two examples match.
const (
	MatchExact = "exact" // same input once case and whitespace are normalised
	MatchNear  = "near"  // word-shingle Jaccard similarity at or above the threshold
)

// Member is one example of a duplicate group.
type Member struct {
	ID       string
	Expected string
	// Similarity to the group's kept example: 1 for exact duplicates, else
	// the Jaccard similarity of their word shingles. Groups are connected
	// components, so a member reached through another can score below the
	// threshold.
	Similarity float64
}

// Group is a set of examples with the same or nearly the same input.
type Group struct {
	Kind    string   // exact when every member is an exact duplicate of the first, else near
	Members []Member // the kept example first, then the rest in dataset order
	// Conflict is set when members disagree on the expected output.
	Conflict bool
}

// DedupeResult is what Dedupe found.
type DedupeResult struct {
	Groups  []Group
	Kept    []lab.Example // the first example of each group and every unique one, in order
	Dropped []lab.Example
}

// Dedupe groups examples whose inputs are exact duplicates (ignoring case
// and whitespace) or near duplicates (MinHash with banding proposes pairs,
// and each pair's exact shingle Jaccard similarity decides), and keeps the
// first of each group.
func Dedupe(exs []lab.Example, opts DedupeOptions) DedupeResult {
	opts = opts.withDefaults()
	n := len(exs)
	uf := newUnionFind(n)
	keys := make([]string, n)
	firstByKey := map[string]int{}
	var reps []int // the first example of each exact class
	for i, ex := range exs {
		keys[i] = normalizeExact(ex.Input)
		if j, ok := firstByKey[keys[i]]; ok {
			uf.union(j, i)
			continue
		}
		firstByKey[keys[i]] = i
		reps = append(reps, i)
	}
	sets := make([][]uint64, n)
	if !opts.ExactOnly {
		idx := newNearIndex(opts)
		for _, i := range reps {
			sets[i] = shingles(exs[i].Input, opts.Shingle)
			for _, d := range idx.candidates(sets[i]) {
				j := idx.ids[d]
				if jaccard(sets[i], sets[j]) >= opts.Threshold {
					uf.union(j, i)
				}
			}
			idx.add(i, sets[i])
		}
	}
	members := map[int][]int{}
	var roots []int
	for i := range exs {
		r := uf.find(i)
		if _, ok := members[r]; !ok {
			roots = append(roots, r)
		}
		members[r] = append(members[r], i)
	}
	var res DedupeResult
	var dropped []int
	for _, r := range roots {
		res.Kept = append(res.Kept, exs[r])
		ms := members[r]
		if len(ms) == 1 {
			continue
		}
		g := Group{Kind: MatchExact}
		for _, i := range ms {
			sim := 1.0
			if keys[i] != keys[r] {
				g.Kind = MatchNear
				a, b := sets[r], sets[i]
				if a == nil {
					a = shingles(exs[r].Input, opts.Shingle)
				}
				if b == nil {
					b = shingles(exs[i].Input, opts.Shingle)
				}
				sim = jaccard(a, b)
			}
			if exs[i].Expected != exs[r].Expected {
				g.Conflict = true
			}
			g.Members = append(g.Members, Member{ID: exs[i].ID, Expected: exs[i].Expected, Similarity: sim})
			if i != r {
				dropped = append(dropped, i)
			}
		}
		res.Groups = append(res.Groups, g)
	}
	sort.Ints(dropped)
	for _, i := range dropped {
		res.Dropped = append(res.Dropped, exs[i])
	}
	return res
}

// Leak is one example found in two splits.
type Leak struct {
	A, B       string // ids in the first and second split
	Kind       string // MatchExact or MatchNear
	Similarity float64
}

// Leakage reports examples of b whose input also appears, exactly or
// nearly, in a: a test case the model was tuned on measures memory, not
// skill. Leaks come in b's order, then a's.
func Leakage(a, b []lab.Example, opts DedupeOptions) []Leak {
	opts = opts.withDefaults()
	exact := map[string][]int{}
	for i, ex := range a {
		k := normalizeExact(ex.Input)
		exact[k] = append(exact[k], i)
	}
	var idx *nearIndex
	if !opts.ExactOnly {
		idx = newNearIndex(opts)
		for i, ex := range a {
			idx.add(i, shingles(ex.Input, opts.Shingle))
		}
	}
	var out []Leak
	for _, ex := range b {
		k := normalizeExact(ex.Input)
		hit := map[int]bool{}
		for _, i := range exact[k] {
			hit[i] = true
		}
		type match struct {
			i    int
			leak Leak
		}
		var found []match
		for _, i := range exact[k] {
			found = append(found, match{i, Leak{A: a[i].ID, B: ex.ID, Kind: MatchExact, Similarity: 1}})
		}
		if idx != nil {
			set := shingles(ex.Input, opts.Shingle)
			for _, d := range idx.candidates(set) {
				i := idx.ids[d]
				if hit[i] {
					continue
				}
				if s := jaccard(set, idx.sets[d]); s >= opts.Threshold {
					found = append(found, match{i, Leak{A: a[i].ID, B: ex.ID, Kind: MatchNear, Similarity: s}})
				}
			}
		}
		sort.Slice(found, func(x, y int) bool { return found[x].i < found[y].i })
		for _, m := range found {
			out = append(out, m.leak)
		}
	}
	return out
}

// normalizeExact folds case and collapses whitespace, so that rows that
// differ only in how they were typed or pasted count as the same.
func normalizeExact(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}

type unionFind struct{ parent []int }

func newUnionFind(n int) *unionFind {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return &unionFind{p}
}

func (u *unionFind) find(i int) int {
	for u.parent[i] != i {
		u.parent[i] = u.parent[u.parent[i]]
		i = u.parent[i]
	}
	return i
}

// union joins two sets under the smaller root, so each group's root is its
// first example in dataset order.
func (u *unionFind) union(a, b int) {
	ra, rb := u.find(a), u.find(b)
	if ra == rb {
		return
	}
	if rb < ra {
		ra, rb = rb, ra
	}
	u.parent[rb] = ra
}
