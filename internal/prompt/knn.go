package prompt

import (
	"math"
	"sort"
	"strings"
	"unicode"
)

// Index finds the documents most similar to a query by TF-IDF cosine over
// words and word pairs. It is what nearest-neighbour few-shot uses when no
// embedding model is configured: lexical similarity is cheap, needs no
// model, and on short support messages picks examples of the same intent
// far more often than chance.
type Index struct {
	docs []vec // unit-normalised tf-idf vectors
	idf  map[string]float64
}

// vec is a sparse vector sorted by term. Sums over it run in that order,
// so a score is the same in every run and near-ties sort the same way
// (summing in map order changed the last bits from run to run).
type vec []termWeight

type termWeight struct {
	term string
	w    float64
}

// Hit is one search result.
type Hit struct {
	Doc   int
	Score float64
}

// NewIndex builds an index over docs.
func NewIndex(docs []string) *Index {
	df := map[string]int{}
	terms := make([]map[string]int, len(docs))
	for i, d := range docs {
		tf := termCounts(d)
		terms[i] = tf
		for t := range tf {
			df[t]++
		}
	}
	n := float64(len(docs))
	idx := &Index{idf: make(map[string]float64, len(df)), docs: make([]vec, len(docs))}
	for t, c := range df {
		idx.idf[t] = math.Log((1+n)/(1+float64(c))) + 1
	}
	for i, tf := range terms {
		idx.docs[i] = idx.vector(tf)
	}
	return idx
}

func (x *Index) vector(tf map[string]int) vec {
	v := make(vec, 0, len(tf))
	for t, c := range tf {
		if idf, ok := x.idf[t]; ok {
			v = append(v, termWeight{t, (1 + math.Log(float64(c))) * idf})
		}
	}
	sort.Slice(v, func(i, j int) bool { return v[i].term < v[j].term })
	var norm float64
	for _, tw := range v {
		norm += tw.w * tw.w
	}
	if norm > 0 {
		norm = math.Sqrt(norm)
		for i := range v {
			v[i].w /= norm
		}
	}
	return v
}

// dot merges two sorted vectors.
func dot(a, b vec) float64 {
	var s float64
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i].term < b[j].term:
			i++
		case a[i].term > b[j].term:
			j++
		default:
			s += a[i].w * b[j].w
			i++
			j++
		}
	}
	return s
}

// Search returns up to k documents by descending similarity; ties keep
// document order so results are deterministic.
func (x *Index) Search(query string, k int) []Hit {
	q := x.vector(termCounts(query))
	hits := make([]Hit, 0, len(x.docs))
	for i, d := range x.docs {
		hits = append(hits, Hit{Doc: i, Score: dot(q, d)})
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	if k < len(hits) {
		hits = hits[:k]
	}
	return hits
}

func termCounts(s string) map[string]int {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	tf := make(map[string]int, 2*len(words))
	for i, w := range words {
		tf[w]++
		if i > 0 {
			tf[words[i-1]+" "+w]++
		}
	}
	return tf
}
