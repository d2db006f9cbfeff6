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
	docs []map[string]float64 // unit-normalised tf-idf vectors
	idf  map[string]float64
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
	idx := &Index{idf: make(map[string]float64, len(df)), docs: make([]map[string]float64, len(docs))}
	for t, c := range df {
		idx.idf[t] = math.Log((1+n)/(1+float64(c))) + 1
	}
	for i, tf := range terms {
		idx.docs[i] = idx.vector(tf)
	}
	return idx
}

func (x *Index) vector(tf map[string]int) map[string]float64 {
	v := make(map[string]float64, len(tf))
	var norm float64
	for t, c := range tf {
		idf, ok := x.idf[t]
		if !ok {
			continue
		}
		w := (1 + math.Log(float64(c))) * idf
		v[t] = w
		norm += w * w
	}
	if norm > 0 {
		norm = math.Sqrt(norm)
		for t := range v {
			v[t] /= norm
		}
	}
	return v
}

// Search returns up to k documents by descending similarity; ties keep
// document order so results are deterministic.
func (x *Index) Search(query string, k int) []Hit {
	q := x.vector(termCounts(query))
	hits := make([]Hit, 0, len(x.docs))
	for i, d := range x.docs {
		var s float64
		small, big := q, d
		if len(small) > len(big) {
			small, big = big, small
		}
		for t, w := range small {
			s += w * big[t]
		}
		hits = append(hits, Hit{Doc: i, Score: s})
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
