package dataset

import (
	"math"
	"sort"
	"strings"
	"unicode"
)

// numPerm is the MinHash signature length. 128 keeps the banding's miss
// rate for true near duplicates far below one in a thousand while costing
// a few microseconds per row.
const numPerm = 128

// permSeeds turn one 64-bit shingle hash into numPerm independent ones.
var permSeeds = func() [numPerm]uint64 {
	var s [numPerm]uint64
	x := uint64(0x7475_6e65_6c61_62) // fixed, so candidates are the same on every run
	for i := range s {
		x += 0x9e3779b97f4a7c15
		s[i] = mix64(x)
	}
	return s
}()

// mix64 is the splitmix64 finaliser: a cheap bijection that spreads every
// input bit over the output.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// nearIndex proposes near-duplicate candidates by locality-sensitive
// hashing: signatures are cut into bands, and two texts that agree on a
// whole band share a bucket. Candidates are then checked exactly by the
// caller, so banding decides only recall, never a false match.
type nearIndex struct {
	rows    int
	ids     []int      // index entry -> the caller's example index
	sets    [][]uint64 // index entry -> its shingle set
	buckets map[bandKey][]int
}

type bandKey struct {
	band int
	hash uint64
}

func newNearIndex(o DedupeOptions) *nearIndex {
	return &nearIndex{rows: bandRows(o.Threshold), buckets: map[bandKey][]int{}}
}

// bandRows picks rows per band so that the banding's similarity cut-off,
// about (1/bands)^(1/rows), sits well below the threshold: pairs just above
// the threshold are then nearly always proposed.
func bandRows(threshold float64) int {
	best := 1
	for _, r := range []int{2, 4, 8, 16, 32} {
		bands := float64(numPerm / r)
		if math.Pow(1/bands, 1/float64(r)) <= threshold-0.15 {
			best = r
		}
	}
	return best
}

func (x *nearIndex) add(id int, set []uint64) {
	d := len(x.ids)
	x.ids = append(x.ids, id)
	x.sets = append(x.sets, set)
	for _, k := range x.bandKeys(set) {
		x.buckets[k] = append(x.buckets[k], d)
	}
}

// candidates returns the index entries sharing a band with set, ascending.
func (x *nearIndex) candidates(set []uint64) []int {
	seen := map[int]bool{}
	var out []int
	for _, k := range x.bandKeys(set) {
		for _, d := range x.buckets[k] {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
			}
		}
	}
	sort.Ints(out)
	return out
}

func (x *nearIndex) bandKeys(set []uint64) []bandKey {
	if len(set) == 0 {
		return nil // a text with no words is only ever an exact duplicate
	}
	var sig [numPerm]uint64
	for i := range sig {
		sig[i] = math.MaxUint64
	}
	for _, h := range set {
		for i, s := range permSeeds {
			if v := mix64(h ^ s); v < sig[i] {
				sig[i] = v
			}
		}
	}
	keys := make([]bandKey, 0, numPerm/x.rows)
	for b := 0; b+x.rows <= numPerm; b += x.rows {
		h := uint64(b)
		for _, v := range sig[b : b+x.rows] {
			h = mix64(h ^ v)
		}
		keys = append(keys, bandKey{b / x.rows, h})
	}
	return keys
}

// shingles returns the sorted, distinct hashes of a text's k-word
// shingles. Words are runs of letters and digits, lower-cased, so
// punctuation and case do not separate near duplicates.
func shingles(text string, k int) []uint64 {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	if len(words) == 0 {
		return nil
	}
	if len(words) < k {
		k = len(words)
	}
	out := make([]uint64, 0, len(words)-k+1)
	for i := 0; i+k <= len(words); i++ {
		out = append(out, hashWords(words[i:i+k]))
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	uniq := out[:0]
	for i, h := range out {
		if i == 0 || h != out[i-1] {
			uniq = append(uniq, h)
		}
	}
	return uniq
}

// hashWords is 64-bit FNV-1a over the words with a separator, written out
// so the hashes never depend on a per-process seed.
func hashWords(words []string) uint64 {
	h := uint64(14695981039346656037)
	for i, w := range words {
		if i > 0 {
			h ^= ' '
			h *= 1099511628211
		}
		for j := 0; j < len(w); j++ {
			h ^= uint64(w[j])
			h *= 1099511628211
		}
	}
	return h
}

// jaccard is |a∩b| / |a∪b| for sorted, distinct sets.
func jaccard(a, b []uint64) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 0
	}
	inter, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			inter++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}
