package retrieval

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// bagEmbed is a deterministic test embedder: one dimension per vocabulary
// word, counting occurrences, so cosine similarity tracks word overlap.
func bagEmbed(vocab []string) EmbedFunc {
	return func(_ context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i, t := range texts {
			v := make([]float32, len(vocab)+1)
			v[len(vocab)] = 0.01 // keeps every vector non-zero
			for _, w := range strings.Fields(strings.ToLower(t)) {
				for j, voc := range vocab {
					if strings.HasPrefix(w, voc) {
						v[j]++
					}
				}
			}
			out[i] = v
		}
		return out, nil
	}
}

func TestVectorIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rag.db")
	ix, err := OpenIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	indexCorpus(t, ix)
	embed := bagEmbed([]string{"refund", "gift", "shipping", "laptop", "warranty", "password", "serial", "account"})
	vi, err := ix.Vectors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	n, err := vi.EmbedMissing(ctx, embed, 2)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || n != vi.Len() {
		t.Fatalf("embedded %d, index holds %d", n, vi.Len())
	}
	if again, err := vi.EmbedMissing(ctx, embed, 2); err != nil || again != 0 {
		t.Fatalf("second EmbedMissing added %d (err %v), want 0", again, err)
	}

	cases := []struct{ name, query, wantDoc string }{
		{"gift refund", "gift refund", "refunds.md"},
		{"laptop", "laptop warranty", "warranty.html"},
		{"password", "password", "accounts.md"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := embed(ctx, []string{tc.query})
			hits, err := vi.Search(ctx, q[0], 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) == 0 || hits[0].Chunk.DocID != tc.wantDoc {
				t.Fatalf("top hit %+v, want doc %s", hits, tc.wantDoc)
			}
			if hits[0].Score > 1+1e-6 || hits[0].Chunk.Text == "" {
				t.Errorf("bad hit %+v", hits[0])
			}
		})
	}

	t.Run("errors", func(t *testing.T) {
		errCases := []struct {
			name string
			run  func() error
		}{
			{"wrong query dim", func() error { _, err := vi.Search(ctx, []float32{1, 2}, 3); return err }},
			{"wrong add dim", func() error { return vi.Add(ctx, "refunds.md#0", []float32{1}) }},
			{"zero vector", func() error { return vi.Add(ctx, "refunds.md#0", make([]float32, 9)) }},
			{"unknown chunk", func() error { return vi.Add(ctx, "nope#0", make([]float32, 9)) }},
			{"embedder fails", func() error {
				_, err := ix.Upsert(ctx, "new.md", "h", []Chunk{{ID: "new.md#0", DocID: "new.md", Text: "x"}})
				if err != nil {
					return nil
				}
				_, err = vi.EmbedMissing(ctx, func(context.Context, []string) ([][]float32, error) {
					return nil, errors.New("boom")
				}, 8)
				return err
			}},
		}
		for _, ec := range errCases {
			t.Run(ec.name, func(t *testing.T) {
				if err := ec.run(); err == nil {
					t.Error("want an error")
				}
			})
		}
	})

	// A changed document loses its embeddings, in memory and on disk.
	before := vi.Len()
	if _, err := ix.Upsert(ctx, "refunds.md", "changed", []Chunk{{ID: "refunds.md#0", DocID: "refunds.md", Text: "new"}}); err != nil {
		t.Fatal(err)
	}
	if vi.Len() >= before {
		t.Errorf("vectors %d after changing a document, want fewer than %d", vi.Len(), before)
	}
	after := vi.Len()
	ix.Close()

	// Reopening loads the stored vectors, bit for bit.
	ix2, err := OpenIndex(path)
	if err != nil {
		t.Fatal(err)
	}
	defer ix2.Close()
	vi2, err := ix2.Vectors(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if vi2.Len() != after {
		t.Errorf("reloaded %d vectors, want %d", vi2.Len(), after)
	}
	q, _ := embed(ctx, []string{"laptop warranty"})
	hits, err := vi2.Search(ctx, q[0], 1)
	if err != nil || len(hits) != 1 || hits[0].Chunk.DocID != "warranty.html" {
		t.Errorf("reloaded search %+v %v", hits, err)
	}
}

func TestVecEncoding(t *testing.T) {
	cases := []struct {
		name string
		vec  []float32
	}{
		{"simple", []float32{1, -2.5, 0}},
		{"extremes", []float32{math.MaxFloat32, math.SmallestNonzeroFloat32, -0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeVec(encodeVec(tc.vec))
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.vec {
				if math.Float32bits(got[i]) != math.Float32bits(tc.vec[i]) {
					t.Errorf("element %d: %v, want %v", i, got[i], tc.vec[i])
				}
			}
		})
	}
	if _, err := decodeVec([]byte{1, 2, 3}); err == nil {
		t.Error("want an error for a 3-byte blob")
	}
}
