package retrieval

import (
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
)

// EmbedFunc embeds texts, one vector per text in order. The caller wires a
// provider's embedding call in, so this package imports no provider.
type EmbedFunc func(ctx context.Context, texts []string) ([][]float32, error)

// VectorIndex is exact cosine search over chunk embeddings. Vectors live in
// the Index's embeddings table (little-endian float32 BLOBs) and are held
// in memory, unit-normalised, for search: exact search over a task's
// knowledge base (thousands to tens of thousands of chunks) takes
// milliseconds, and avoids an approximate index's recall loss.
type VectorIndex struct {
	ix *Index

	mu   sync.RWMutex
	dim  int
	ids  []string
	docs []string
	vecs [][]float32
	pos  map[string]int
}

// Vectors returns the index's VectorIndex, loading stored embeddings on
// first use. Upsert and Remove keep it in step with the chunks.
func (ix *Index) Vectors(ctx context.Context) (*VectorIndex, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.vec != nil {
		return ix.vec, nil
	}
	v := &VectorIndex{ix: ix, pos: map[string]int{}}
	rows, err := ix.db.QueryContext(ctx, `SELECT chunk_id, doc_id, vec FROM embeddings ORDER BY chunk_id`)
	if err != nil {
		return nil, fmt.Errorf("load embeddings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, doc string
		var blob []byte
		if err := rows.Scan(&id, &doc, &blob); err != nil {
			return nil, fmt.Errorf("load embeddings: %w", err)
		}
		vec, err := decodeVec(blob)
		if err != nil {
			return nil, fmt.Errorf("load embeddings: chunk %s: %w", id, err)
		}
		if err := v.put(id, doc, vec); err != nil {
			return nil, fmt.Errorf("load embeddings: chunk %s: %w", id, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load embeddings: %w", err)
	}
	ix.vec = v
	return v, nil
}

func (ix *Index) dropVectors(docID string) {
	ix.mu.Lock()
	v := ix.vec
	ix.mu.Unlock()
	if v != nil {
		v.dropDoc(docID)
	}
}

// Len is the number of stored vectors.
func (v *VectorIndex) Len() int {
	v.mu.RLock()
	defer v.mu.RUnlock()
	return len(v.ids)
}

// Add stores the embedding of an indexed chunk, replacing any earlier one.
// Every vector must have the same dimension as the first.
func (v *VectorIndex) Add(ctx context.Context, chunkID string, vec []float32) error {
	var docID string
	err := v.ix.db.QueryRowContext(ctx, `SELECT doc_id FROM chunks WHERE id = ?`, chunkID).Scan(&docID)
	if err != nil {
		return fmt.Errorf("add embedding for chunk %s: chunk not in the index (index the document first): %w", chunkID, err)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if err := v.check(vec); err != nil {
		return fmt.Errorf("add embedding for chunk %s: %w", chunkID, err)
	}
	if _, err := v.ix.db.ExecContext(ctx,
		`INSERT INTO embeddings (chunk_id, doc_id, vec) VALUES (?, ?, ?)
		 ON CONFLICT (chunk_id) DO UPDATE SET doc_id = excluded.doc_id, vec = excluded.vec`,
		chunkID, docID, encodeVec(vec)); err != nil {
		return fmt.Errorf("add embedding for chunk %s: %w", chunkID, err)
	}
	return v.put(chunkID, docID, vec)
}

// EmbedMissing embeds, batch texts at a time, every indexed chunk that has
// no embedding yet, and returns how many it added. The heading path is
// embedded with the text so a chunk carries its section's meaning.
func (v *VectorIndex) EmbedMissing(ctx context.Context, embed EmbedFunc, batch int) (int, error) {
	if batch <= 0 {
		batch = 64
	}
	rows, err := v.ix.db.QueryContext(ctx, `
		SELECT c.id, c.heading, c.text FROM chunks c
		LEFT JOIN embeddings e ON e.chunk_id = c.id
		WHERE e.chunk_id IS NULL ORDER BY c.id`)
	if err != nil {
		return 0, fmt.Errorf("embed chunks: %w", err)
	}
	var ids, texts []string
	for rows.Next() {
		var id, heading, text string
		if err := rows.Scan(&id, &heading, &text); err != nil {
			rows.Close()
			return 0, fmt.Errorf("embed chunks: %w", err)
		}
		ids = append(ids, id)
		texts = append(texts, EmbedText(heading, text))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("embed chunks: %w", err)
	}
	added := 0
	for i := 0; i < len(ids); i += batch {
		j := min(i+batch, len(ids))
		vecs, err := embed(ctx, texts[i:j])
		if err != nil {
			return added, fmt.Errorf("embed chunks %s..%s: %w", ids[i], ids[j-1], err)
		}
		if len(vecs) != j-i {
			return added, fmt.Errorf("embed chunks %s..%s: got %d vectors for %d texts", ids[i], ids[j-1], len(vecs), j-i)
		}
		for n, vec := range vecs {
			if err := v.Add(ctx, ids[i+n], vec); err != nil {
				return added, err
			}
			added++
		}
	}
	return added, nil
}

// EmbedText is the text a chunk is embedded as: heading path, then body.
func EmbedText(heading, text string) string {
	if heading == "" {
		return text
	}
	return heading + "\n\n" + text
}

// Search returns the k chunks whose embeddings are most cosine-similar to
// vec; Score is the cosine similarity.
func (v *VectorIndex) Search(ctx context.Context, vec []float32, k int) ([]Hit, error) {
	v.mu.RLock()
	if len(v.ids) == 0 || k <= 0 {
		v.mu.RUnlock()
		return nil, nil
	}
	if len(vec) != v.dim {
		v.mu.RUnlock()
		return nil, fmt.Errorf("vector search: query has dimension %d, the index %d; embed the query with the same model as the chunks", len(vec), v.dim)
	}
	q, err := normalise(vec)
	if err != nil {
		v.mu.RUnlock()
		return nil, fmt.Errorf("vector search: %w", err)
	}
	h := &topK{}
	for i, d := range v.vecs {
		var s float32
		for j := range d {
			s += d[j] * q[j]
		}
		if h.Len() < k {
			heap.Push(h, scored{v.ids[i], float64(s)})
		} else if float64(s) > (*h)[0].score {
			(*h)[0] = scored{v.ids[i], float64(s)}
			heap.Fix(h, 0)
		}
	}
	v.mu.RUnlock()
	top := []scored(*h)
	sort.Slice(top, func(a, b int) bool {
		if top[a].score != top[b].score {
			return top[a].score > top[b].score
		}
		return top[a].id < top[b].id
	})
	ids := make([]string, len(top))
	for i, s := range top {
		ids[i] = s.id
	}
	chunks, err := v.ix.chunksByID(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("vector search: load chunks: %w", err)
	}
	hits := make([]Hit, 0, len(top))
	for _, s := range top {
		if c, ok := chunks[s.id]; ok {
			hits = append(hits, Hit{Chunk: c, Score: s.score})
		}
	}
	return hits, nil
}

// put checks and stores a vector in memory; v.mu must be held for
// writing (or v not yet shared).
func (v *VectorIndex) put(id, doc string, vec []float32) error {
	if err := v.check(vec); err != nil {
		return err
	}
	n, err := normalise(vec)
	if err != nil {
		return err
	}
	if i, ok := v.pos[id]; ok {
		v.vecs[i], v.docs[i] = n, doc
		return nil
	}
	v.pos[id] = len(v.ids)
	v.ids = append(v.ids, id)
	v.docs = append(v.docs, doc)
	v.vecs = append(v.vecs, n)
	return nil
}

func (v *VectorIndex) check(vec []float32) error {
	if len(vec) == 0 {
		return errors.New("empty vector")
	}
	if v.dim != 0 && len(vec) != v.dim {
		return fmt.Errorf("dimension %d, but the index holds %d-dimensional vectors; use one embedding model per index", len(vec), v.dim)
	}
	if v.dim == 0 && len(v.ids) == 0 {
		v.dim = len(vec)
	}
	return nil
}

func (v *VectorIndex) dropDoc(docID string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	keep := 0
	for i := range v.ids {
		if v.docs[i] == docID {
			delete(v.pos, v.ids[i])
			continue
		}
		v.ids[keep], v.docs[keep], v.vecs[keep] = v.ids[i], v.docs[i], v.vecs[i]
		v.pos[v.ids[keep]] = keep
		keep++
	}
	v.ids, v.docs, v.vecs = v.ids[:keep], v.docs[:keep], v.vecs[:keep]
	if keep == 0 {
		v.dim = 0
	}
}

func normalise(vec []float32) ([]float32, error) {
	var ss float64
	for _, x := range vec {
		ss += float64(x) * float64(x)
	}
	if ss == 0 || math.IsNaN(ss) || math.IsInf(ss, 0) {
		return nil, errors.New("zero or non-finite vector has no direction")
	}
	inv := 1 / math.Sqrt(ss)
	out := make([]float32, len(vec))
	for i, x := range vec {
		out[i] = float32(float64(x) * inv)
	}
	return out, nil
}

func encodeVec(vec []float32) []byte {
	b := make([]byte, 4*len(vec))
	for i, x := range vec {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func decodeVec(b []byte) ([]float32, error) {
	if len(b)%4 != 0 {
		return nil, fmt.Errorf("embedding blob of %d bytes is not float32s", len(b))
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

type scored struct {
	id    string
	score float64
}

// topK is a min-heap on score, so the root is the weakest of the best k.
type topK []scored

func (h topK) Len() int { return len(h) }
func (h topK) Less(i, j int) bool {
	if h[i].score != h[j].score {
		return h[i].score < h[j].score
	}
	return h[i].id > h[j].id
}
func (h topK) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *topK) Push(x any)   { *h = append(*h, x.(scored)) }
func (h *topK) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
