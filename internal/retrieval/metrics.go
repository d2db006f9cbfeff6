package retrieval

import "strings"

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

// SourceMatches reports whether an indexed document is the one a case
// names as its source. Cases name files as their authors see them
// ("refund-policy.md"), while the index keys documents by their path in
// the lab ("knowledge/refund-policy.md"), so a source matches the whole id
// or its trailing path elements. A JSONL record ("knowledge/faq.jsonl#r7")
// is matched by its own id ("r7", "faq.jsonl#r7") and by its file
// ("faq.jsonl"), which stands for every record in it.
func SourceMatches(docID, source string) bool {
	source = strings.Trim(strings.TrimSpace(source), "/")
	if source == "" {
		return false
	}
	if docID == source || strings.HasSuffix(docID, "/"+source) {
		return true
	}
	file, rec, ok := SplitRecordID(docID)
	return ok && (rec == source || file == source || strings.HasSuffix(file, "/"+source))
}

// SplitRecordID splits a JSONL record's document id into the file's id
// and the record's own id; ok is false for a document that is a whole
// file.
func SplitRecordID(docID string) (file, record string, ok bool) {
	for i := 0; i < len(docID); i++ {
		if docID[i] == '#' && strings.HasSuffix(strings.ToLower(docID[:i]), ".jsonl") {
			return docID[:i], docID[i+1:], true
		}
	}
	return "", "", false
}

// ParseSources splits a meta.source value naming one or more documents,
// separated by commas or semicolons.
func ParseSources(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// SourceRecall is RecallAtK with the relevant documents named as cases
// name them (see SourceMatches): the share of sources with a chunk among
// the first k hits.
func SourceRecall(hits []Hit, sources []string, k int) float64 {
	if len(sources) == 0 {
		return 0
	}
	if k > 0 && len(hits) > k {
		hits = hits[:k]
	}
	found := 0
	for _, s := range sources {
		for _, h := range hits {
			if SourceMatches(h.Chunk.DocID, s) {
				found++
				break
			}
		}
	}
	return float64(found) / float64(len(sources))
}

// SourceMRR is MRR with the relevant documents named as cases name them.
func SourceMRR(hits []Hit, sources []string) float64 {
	for i, h := range hits {
		for _, s := range sources {
			if SourceMatches(h.Chunk.DocID, s) {
				return 1 / float64(i+1)
			}
		}
	}
	return 0
}
