package retrieval

import "sort"

// DefaultRRFK is the rank offset of reciprocal rank fusion; 60 is the value
// from Cormack et al. (2009) and damps the weight of the very top ranks.
const DefaultRRFK = 60

// Fuse merges ranked lists (say BM25 and vector hits) by reciprocal rank
// fusion: a chunk scores the sum over lists of 1/(rrfK + rank), rank from
// 1. It uses only ranks because BM25 and cosine scores are on different
// scales. Ties break by chunk ID so the order is deterministic. k <= 0
// keeps every chunk; rrfK <= 0 means DefaultRRFK.
func Fuse(lists [][]Hit, k int, rrfK float64) []Hit {
	return FuseWeighted(lists, nil, k, rrfK)
}

// FuseWeighted is Fuse with a weight per list (nil: all 1), so hybrid
// search can lean towards BM25 or towards vectors.
func FuseWeighted(lists [][]Hit, weights []float64, k int, rrfK float64) []Hit {
	if rrfK <= 0 {
		rrfK = DefaultRRFK
	}
	idx := map[string]int{}
	var out []Hit
	for li, list := range lists {
		w := 1.0
		if li < len(weights) {
			w = weights[li]
		}
		seen := map[string]bool{} // a chunk counts once per list, at its best rank
		for rank, h := range list {
			if seen[h.Chunk.ID] {
				continue
			}
			seen[h.Chunk.ID] = true
			s := w / (rrfK + float64(rank+1))
			if i, ok := idx[h.Chunk.ID]; ok {
				out[i].Score += s
				continue
			}
			idx[h.Chunk.ID] = len(out)
			out = append(out, Hit{Chunk: h.Chunk, Score: s})
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].Score != out[b].Score {
			return out[a].Score > out[b].Score
		}
		return out[a].Chunk.ID < out[b].Chunk.ID
	})
	if k > 0 && len(out) > k {
		out = out[:k]
	}
	return out
}
