package retrieval

// Relevance is judged per document, not per chunk, because a test case
// names the document that answers it; how the document was chunked must not
// change whether retrieval counts as a success.

// RecallAtK is the fraction of the relevant documents that have at least
// one chunk among the first k hits (k <= 0: all hits). With no relevant
// documents it returns 0; callers averaging over test cases should leave
// unlabelled cases out rather than count them.
func RecallAtK(hits []Hit, relevantDocIDs []string, k int) float64 {
	rel := map[string]bool{}
	for _, id := range relevantDocIDs {
		rel[id] = true
	}
	if len(rel) == 0 {
		return 0
	}
	if k > 0 && len(hits) > k {
		hits = hits[:k]
	}
	found := map[string]bool{}
	for _, h := range hits {
		if rel[h.Chunk.DocID] {
			found[h.Chunk.DocID] = true
		}
	}
	return float64(len(found)) / float64(len(rel))
}

// MRR is the reciprocal rank of the first hit from a relevant document
// (1 for the top hit, 1/2 for the second...), 0 when none is retrieved;
// the mean over test cases is the mean reciprocal rank.
func MRR(hits []Hit, relevantDocIDs []string) float64 {
	rel := map[string]bool{}
	for _, id := range relevantDocIDs {
		rel[id] = true
	}
	for i, h := range hits {
		if rel[h.Chunk.DocID] {
			return 1 / float64(i+1)
		}
	}
	return 0
}
