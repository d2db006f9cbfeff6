package workspace

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tunelab/tunelab/internal/retrieval"
)

// TestRerankWiring: retrieval.rerank has a model reorder the search's
// 4 x k best chunks in one call with a JSON schema, the prompt gets the
// first k in the model's order, a repeated query is answered from the
// response cache, and a prompt can turn the reranker off.
func TestRerankWiring(t *testing.T) {
	var calls atomic.Int32
	var lastBody atomic.Value
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		lastBody.Store(body)
		calls.Add(1)
		// The model ranks the fourth and third passages first, except
		// for a question about returns abroad, where it rambles.
		content := `{\"ranking\": [\"p4\", \"p3\"]}`
		if strings.Contains(string(body), "abroad") {
			content = "They all seem relevant."
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"x","object":"chat.completion","created":1,"model":"ranker","choices":[{"index":0,`+
			`"message":{"role":"assistant","content":"`+content+`"},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":900,"completion_tokens":12,"total_tokens":912}}`)
	}))
	defer up.Close()

	dir := ragLab(t)
	editConfig(t, dir, "retrieval:\n", "retrieval:\n  rerank: openai-compatible:"+up.URL+"/v1#ranker\n")
	editConfig(t, dir, "  - technique: instructions\n", "  - name: zero-shot-rag-plain\n    technique: zero-shot\n    retrieval: {k: 8, rerank: none}\n  - technique: instructions\n")
	ctx := context.Background()
	w, _, targets := openTargets(t, dir)
	defer w.Close()
	search := map[string]func(context.Context, string) ([]retrieval.Hit, error){}
	for _, tg := range targets {
		if tg.Retrieve != nil {
			search[tg.Candidate.Variant.Name] = tg.Retrieve
			if r := tg.Candidate.Retrieval; tg.Candidate.Variant.Name == "zero-shot-rag" && (r.Rerank == "" || r.Candidates != 8) {
				t.Errorf("zero-shot-rag retrieval %+v, want the lab's reranker over 8 candidates", r)
			}
		}
	}
	const q = "How many days after delivery can I return an item for a full refund?"
	plain, err := search["zero-shot-rag-plain"](ctx, q)
	if err != nil || len(plain) != 8 {
		t.Fatalf("plain search: %d hits, err %v; want 8", len(plain), err)
	}
	if calls.Load() != 0 {
		t.Fatalf("rerank: none still called the reranker %d times", calls.Load())
	}
	for round := 1; round <= 2; round++ {
		got, err := search["zero-shot-rag"](ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Chunk.ID != plain[3].Chunk.ID || got[1].Chunk.ID != plain[2].Chunk.ID {
			t.Fatalf("round %d: reranked %v, want the search's 4th and 3rd chunks %s, %s", round, ids(got), plain[3].Chunk.ID, plain[2].Chunk.ID)
		}
		if calls.Load() != 1 {
			t.Errorf("round %d: %d calls to the reranker, want 1 (the second from the cache)", round, calls.Load())
		}
	}
	// An unreadable ranking fails the call and is not kept: the next
	// query asks again.
	for round := 1; round <= 2; round++ {
		if _, err := search["zero-shot-rag"](ctx, "Can I return an item bought abroad?"); !errors.Is(err, retrieval.ErrNoRanking) {
			t.Errorf("round %d: err %v, want ErrNoRanking", round, err)
		}
	}
	if calls.Load() != 3 {
		t.Errorf("%d calls to the reranker, want 3: an unreadable reply must not be answered from the cache", calls.Load())
	}
	// Every candidate is in the one prompt, and the schema lists them all.
	body := string(lastBody.Load().([]byte))
	if !strings.Contains(body, "[p8]") || strings.Contains(body, "[p9]") || !strings.Contains(body, `"minItems":8`) {
		t.Errorf("the reranker was not offered exactly 8 passages:\n%s", body)
	}
}

func ids(hs []retrieval.Hit) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.Chunk.ID
	}
	return out
}
