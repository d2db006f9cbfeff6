package retrieval

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Reranking by a model: the first search (BM25, vectors or both) finds
// more candidates than the prompt takes, and a model reads the question
// with all of them and orders them by how well each answers it. Word and
// vector similarity rank a passage that repeats the question's words above
// the one that answers it; a model reading both can tell them apart. One
// call per query (listwise), so the cost is one model call, not one per
// passage. This file holds the prompt and the reading of the reply; the
// call goes through the lab's provider, retries and response cache (see
// internal/workspace).

const rerankSystem = "You rank passages by how well each answers a question. " +
	"Judge only what the passages say, and reply with a JSON object only."

// RerankPrompt returns the system and user turns asking a model to order
// hits by how well they answer query, and the JSON schema its reply must
// follow. Passages are named p1, p2, ... in the search's order: short
// names a small model can copy, and no chunk id that could be mistaken
// for content.
func RerankPrompt(query string, hits []Hit) (system, user string, schema json.RawMessage) {
	var b strings.Builder
	fmt.Fprintf(&b, "Question:\n<question>\n%s\n</question>\n\nPassages:\n<passages>\n", strings.TrimSpace(query))
	ids := make([]string, len(hits))
	for i, h := range hits {
		ids[i] = fmt.Sprintf("p%d", i+1)
		fmt.Fprintf(&b, "[%s]", ids[i])
		if l := h.Chunk.Label(); l != "" {
			b.WriteString(" " + l)
		}
		b.WriteString("\n" + strings.TrimSpace(h.Chunk.Text) + "\n\n")
	}
	b.WriteString("</passages>\n\n")
	b.WriteString("Order the passages from the one that best answers the question to the least useful. " +
		"A passage that states the answer comes before one that only shares the question's words.\n\n" +
		`Reply with only this JSON object: {"ranking": ["p<n>", ...]}, every passage id once.`)
	s, _ := json.Marshal(map[string]any{ // plain data always marshals
		"type": "object",
		"properties": map[string]any{
			// Every id, so that a constrained decoder (llama.cpp's grammar)
			// cannot stop at an empty list.
			"ranking": map[string]any{"type": "array", "items": map[string]any{"type": "string", "enum": ids},
				"minItems": len(ids), "maxItems": len(ids)},
		},
		"required":             []string{"ranking"},
		"additionalProperties": false,
	})
	return rerankSystem, b.String(), s
}

// quotedID finds the passage ids a reply quotes.
var quotedID = regexp.MustCompile(`"(p[0-9]+)"`)

// ErrNoRanking is returned when a reranker's reply names no passage.
var ErrNoRanking = errors.New("the reply ranks no passage")

// ParseRerank orders hits as the reply to RerankPrompt ranks them. Ids the
// reply repeats or does not know are skipped; passages it leaves out
// follow, in the search's order, so a partial ranking still moves what it
// ranks to the front and loses nothing. Text around the JSON object (a
// model's preamble, a code fence) is ignored, and a reply that is not
// valid JSON (cut off at its token limit) is read for the ids it quotes.
func ParseRerank(reply string, hits []Hit) ([]Hit, error) {
	var r struct {
		Ranking []string `json:"ranking"`
	}
	start, end := strings.Index(reply, "{"), strings.LastIndex(reply, "}")
	if start < 0 || end < start || json.Unmarshal([]byte(reply[start:end+1]), &r) != nil {
		// A reply cut off by its token limit, or almost JSON: the ids
		// it quoted, in order, are still its ranking.
		r.Ranking = nil
		for _, m := range quotedID.FindAllStringSubmatch(reply, -1) {
			r.Ranking = append(r.Ranking, m[1])
		}
	}
	out := make([]Hit, 0, len(hits))
	taken := make([]bool, len(hits))
	for _, id := range r.Ranking {
		var n int
		if _, err := fmt.Sscanf(strings.TrimSpace(id), "p%d", &n); err != nil || n < 1 || n > len(hits) || taken[n-1] {
			continue
		}
		taken[n-1] = true
		out = append(out, hits[n-1])
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %q", ErrNoRanking, clip(reply, 120))
	}
	for i, h := range hits {
		if !taken[i] {
			out = append(out, h)
		}
	}
	return out, nil
}
