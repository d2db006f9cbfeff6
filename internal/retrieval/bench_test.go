package retrieval

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
)

const (
	benchDocs         = 100
	benchChunksPerDoc = 100 // 10,000 chunks in all
	benchWords        = 150 // ~200 tokens by EstimateTokens
)

// benchCorpus generates documents of chunks drawn from a Zipf-distributed
// vocabulary, which gives BM25 realistic posting-list lengths.
func benchCorpus() [][]Chunk {
	r := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 20000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%dx", i)
	}
	zipf := rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1))
	docs := make([][]Chunk, benchDocs)
	for d := range docs {
		docID := fmt.Sprintf("doc%03d.md", d)
		for c := 0; c < benchChunksPerDoc; c++ {
			ws := make([]string, benchWords)
			for i := range ws {
				ws[i] = vocab[zipf.Uint64()]
			}
			docs[d] = append(docs[d], Chunk{
				ID: fmt.Sprintf("%s#%d", docID, c), DocID: docID,
				Heading: "Section " + vocab[zipf.Uint64()],
				Text:    strings.Join(ws, " "),
			})
		}
	}
	return docs
}

func indexBench(b *testing.B, path string, docs [][]Chunk) *Index {
	ix, err := OpenIndex(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, chunks := range docs {
		if _, err := ix.Upsert(context.Background(), chunks[0].DocID, "h", chunks); err != nil {
			b.Fatal(err)
		}
	}
	return ix
}

// BenchmarkIndex indexes 10,000 chunks of ~200 tokens into a fresh file.
func BenchmarkIndex(b *testing.B) {
	docs := benchCorpus()
	dir := b.TempDir()
	n := 0
	for b.Loop() {
		n++
		ix := indexBench(b, filepath.Join(dir, fmt.Sprintf("i%d.db", n)), docs)
		ix.Close()
	}
	b.ReportMetric(float64(benchDocs*benchChunksPerDoc), "chunks/op")
}

// BenchmarkSearch runs k=10 BM25 queries of four words against the
// 10,000-chunk index.
func BenchmarkSearch(b *testing.B) {
	docs := benchCorpus()
	ix := indexBench(b, filepath.Join(b.TempDir(), "s.db"), docs)
	defer ix.Close()
	r := rand.New(rand.NewPCG(3, 4))
	queries := make([]string, 64)
	for i := range queries {
		ws := strings.Fields(docs[r.IntN(benchDocs)][r.IntN(benchChunksPerDoc)].Text)
		queries[i] = strings.Join([]string{ws[r.IntN(len(ws))], ws[r.IntN(len(ws))], ws[r.IntN(len(ws))], ws[r.IntN(len(ws))]}, " ")
	}
	ctx := context.Background()
	i := 0
	for b.Loop() {
		hits, err := ix.Search(ctx, queries[i%len(queries)], 10)
		if err != nil || len(hits) == 0 {
			b.Fatalf("search: %d hits, %v", len(hits), err)
		}
		i++
	}
}

// BenchmarkVectorSearch is exact cosine top-10 over 10,000 384-d vectors.
func BenchmarkVectorSearch(b *testing.B) {
	ctx := context.Background()
	ix := indexBench(b, filepath.Join(b.TempDir(), "v.db"), benchCorpus())
	defer ix.Close()
	vi, err := ix.Vectors(ctx)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	randVec := func() []float32 {
		v := make([]float32, 384)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	if _, err := vi.EmbedMissing(ctx, func(_ context.Context, texts []string) ([][]float32, error) {
		out := make([][]float32, len(texts))
		for i := range out {
			out[i] = randVec()
		}
		return out, nil
	}, 500); err != nil {
		b.Fatal(err)
	}
	q := randVec()
	for b.Loop() {
		if hits, err := vi.Search(ctx, q, 10); err != nil || len(hits) != 10 {
			b.Fatalf("search: %d hits, %v", len(hits), err)
		}
	}
}
