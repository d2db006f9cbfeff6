// Command retrieval-bench measures tunelab's BM25 index (SQLite FTS5)
// against bleve, the other full-text engine the retrieval design
// considered, on the same generated chunks in one run: index throughput
// and the latency of k=10 queries. It is its own module so bleve stays
// out of tunelab's dependencies.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"

	"github.com/tunelab/tunelab/internal/retrieval"
)

func main() {
	chunks := flag.Int("chunks", 100000, "chunks to index")
	words := flag.Int("words", 150, "words per chunk (~200 tokens)")
	queries := flag.Int("queries", 500, "k=10 queries to time")
	batch := flag.Int("batch", 1000, "chunks per document for FTS5 and per batch for bleve")
	flag.Parse()
	dir, err := os.MkdirTemp("", "retrieval-bench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	docs, qs := corpus(*chunks, *words, *batch, *queries)
	fmt.Printf("%d chunks of %d words in %d documents, %d queries of 3-5 words, k=10\n", *chunks, *words, len(docs), len(qs))

	fts, err := benchFTS5(filepath.Join(dir, "fts.db"), docs, qs)
	if err != nil {
		log.Fatal(err)
	}
	blv, err := benchBleve(filepath.Join(dir, "bleve"), docs, qs)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range []result{fts, blv} {
		fmt.Printf("%-14s index %7.1f s (%6.0f chunks/s)  query p50 %6.2f ms  p95 %6.2f ms\n",
			r.name, r.index.Seconds(), float64(*chunks)/r.index.Seconds(), ms(r.p50), ms(r.p95))
	}
	fmt.Printf("ratios bleve/FTS5: index time %.2fx, query p95 %.2fx\n", blv.index.Seconds()/fts.index.Seconds(), ms(blv.p95)/ms(fts.p95))
}

type result struct {
	name       string
	index      time.Duration
	p50, p95   time.Duration
	firstQuery []string
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// corpus draws chunks and queries from one Zipf-distributed vocabulary,
// which gives both engines realistic posting-list lengths.
func corpus(n, words, perDoc, nq int) ([][]retrieval.Chunk, []string) {
	r := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 50000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%dx", i)
	}
	zipf := rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1))
	var docs [][]retrieval.Chunk
	for i := 0; i < n; i++ {
		if i%perDoc == 0 {
			docs = append(docs, nil)
		}
		d := len(docs) - 1
		ws := make([]string, words)
		for j := range ws {
			ws[j] = vocab[zipf.Uint64()]
		}
		docID := fmt.Sprintf("doc%04d.md", d)
		docs[d] = append(docs[d], retrieval.Chunk{ID: fmt.Sprintf("%s#%d", docID, len(docs[d])), DocID: docID, Text: strings.Join(ws, " ")})
	}
	qs := make([]string, nq)
	for i := range qs {
		ws := make([]string, 3+r.IntN(3))
		for j := range ws {
			ws[j] = vocab[zipf.Uint64()]
		}
		qs[i] = strings.Join(ws, " ")
	}
	return docs, qs
}

func percentiles(ds []time.Duration) (p50, p95 time.Duration) {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2], ds[(len(ds)*95+99)/100-1]
}

func benchFTS5(path string, docs [][]retrieval.Chunk, qs []string) (result, error) {
	ctx := context.Background()
	ix, err := retrieval.OpenIndex(path)
	if err != nil {
		return result{}, err
	}
	defer ix.Close()
	start := time.Now()
	for _, d := range docs {
		if _, err := ix.Upsert(ctx, d[0].DocID, "h", d); err != nil {
			return result{}, err
		}
	}
	res := result{name: "SQLite FTS5", index: time.Since(start)}
	lat := make([]time.Duration, len(qs))
	for i, q := range qs {
		t := time.Now()
		hits, err := ix.Search(ctx, q, 10)
		if err != nil {
			return result{}, err
		}
		lat[i] = time.Since(t)
		if i == 0 {
			for _, h := range hits {
				res.firstQuery = append(res.firstQuery, h.Chunk.ID)
			}
		}
	}
	res.p50, res.p95 = percentiles(lat)
	return res, nil
}

func benchBleve(path string, docs [][]retrieval.Chunk, qs []string) (result, error) {
	m := bleve.NewIndexMapping()
	idx, err := bleve.New(path, m)
	if err != nil {
		return result{}, err
	}
	defer idx.Close()
	start := time.Now()
	for _, d := range docs {
		b := idx.NewBatch()
		for _, c := range d {
			if err := b.Index(c.ID, map[string]string{"heading": c.Heading, "text": c.Text, "doc": c.DocID}); err != nil {
				return result{}, err
			}
		}
		if err := idx.Batch(b); err != nil {
			return result{}, err
		}
	}
	res := result{name: "bleve v2", index: time.Since(start)}
	lat := make([]time.Duration, len(qs))
	for i, q := range qs {
		t := time.Now()
		// A match query ORs the words, as FTS5's MatchQuery does.
		req := bleve.NewSearchRequestOptions(bleve.NewMatchQuery(q), 10, 0, false)
		sr, err := idx.Search(req)
		if err != nil {
			return result{}, err
		}
		lat[i] = time.Since(t)
		if i == 0 {
			for _, h := range sr.Hits {
				res.firstQuery = append(res.firstQuery, h.ID)
			}
		}
	}
	res.p50, res.p95 = percentiles(lat)
	return res, nil
}
