package retrieval

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode"

	_ "modernc.org/sqlite" // registers the "sqlite" driver; FTS5 is in its default build
)

// Hit is one search result; a higher Score is better within one list.
// Scores from different lists are not comparable (use Fuse to combine).
type Hit struct {
	Chunk Chunk
	Score float64
}

// Index is a chunk store with BM25 search through SQLite FTS5, plus the
// embeddings table behind VectorIndex, in one database file so an index
// directory is a single artifact.
type Index struct {
	db   *sql.DB
	path string

	mu  sync.Mutex
	vec *VectorIndex // loaded lazily by Vectors; kept in step by Upsert/Remove
}

const schema = `
CREATE TABLE IF NOT EXISTS docs (
	id   TEXT PRIMARY KEY,
	hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
	rowid   INTEGER PRIMARY KEY,
	id      TEXT NOT NULL UNIQUE,
	doc_id  TEXT NOT NULL,
	heading TEXT NOT NULL,
	text    TEXT NOT NULL,
	start   INTEGER NOT NULL,
	end     INTEGER NOT NULL,
	loc     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(heading, text, tokenize = 'porter unicode61');
CREATE TABLE IF NOT EXISTS embeddings (
	chunk_id TEXT PRIMARY KEY,
	doc_id   TEXT NOT NULL,
	vec      BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS embeddings_doc ON embeddings(doc_id);
CREATE TABLE IF NOT EXISTS meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
`

// OpenIndex opens or creates the index database at path (":memory:" for a
// throwaway one). One connection serves everything: writes are serialised
// by SQLite anyway, and an in-memory database exists per connection.
func OpenIndex(path string) (*Index, error) {
	if path == "" {
		return nil, errors.New("open retrieval index: empty path")
	}
	dsn := "file::memory:"
	if path != ":memory:" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("open retrieval index %s: %w", path, err)
		}
		if err := os.MkdirAll(filepath.Dir(abs), 0o755); err != nil {
			return nil, fmt.Errorf("open retrieval index %s: create directory: %w", path, err)
		}
		p := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(abs))
		if !strings.HasPrefix(p, "/") {
			p = "/" + p
		}
		dsn = "file:" + p + "?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open retrieval index %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		if strings.Contains(err.Error(), "fts5") {
			return nil, fmt.Errorf("open retrieval index %s: this SQLite build lacks FTS5: %w", path, err)
		}
		return nil, fmt.Errorf("open retrieval index %s: create schema: %w", path, err)
	}
	if err := addLocColumn(db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open retrieval index %s: %w", path, err)
	}
	return &Index{db: db, path: path}, nil
}

// addLocColumn upgrades an index written before chunks had a location.
// Its chunks keep an empty one: they all come from Markdown, text and
// HTML files, which have no pages.
func addLocColumn(db *sql.DB) error {
	rows, err := db.Query(`SELECT name FROM pragma_table_info('chunks')`)
	if err != nil {
		return fmt.Errorf("read the chunks table's columns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return fmt.Errorf("read the chunks table's columns: %w", err)
		}
		if name == "loc" {
			return nil
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the chunks table's columns: %w", err)
	}
	rows.Close() // one connection: release it before the ALTER
	if _, err := db.Exec(`ALTER TABLE chunks ADD COLUMN loc TEXT NOT NULL DEFAULT ''`); err != nil {
		return fmt.Errorf("add the chunks' location column: %w", err)
	}
	return nil
}

// Close releases the database.
func (ix *Index) Close() error {
	if err := ix.db.Close(); err != nil {
		return fmt.Errorf("close retrieval index %s: %w", ix.path, err)
	}
	return nil
}

// DocHashes returns the indexed documents and their content hashes, so a
// caller can Remove documents that no longer exist on disk.
func (ix *Index) DocHashes(ctx context.Context) (map[string]string, error) {
	rows, err := ix.db.QueryContext(ctx, `SELECT id, hash FROM docs`)
	if err != nil {
		return nil, fmt.Errorf("list indexed documents: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, h string
		if err := rows.Scan(&id, &h); err != nil {
			return nil, fmt.Errorf("list indexed documents: %w", err)
		}
		out[id] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list indexed documents: %w", err)
	}
	return out, nil
}

// Upsert makes docID's indexed chunks be chunks, unless the index already
// holds docID at docHash, in which case nothing is written (re-indexing an
// unchanged folder is cheap, and embeddings of unchanged documents are
// kept). It reports whether anything changed. A changed document's old
// chunks and their embeddings are dropped in the same transaction.
func (ix *Index) Upsert(ctx context.Context, docID, docHash string, chunks []Chunk) (bool, error) {
	if docID == "" || docHash == "" {
		return false, errors.New("index document: empty document id or hash")
	}
	for _, c := range chunks {
		if c.DocID != docID {
			return false, fmt.Errorf("index document %s: chunk %s belongs to document %q", docID, c.ID, c.DocID)
		}
	}
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("index document %s: %w", docID, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var old string
	switch err := tx.QueryRowContext(ctx, `SELECT hash FROM docs WHERE id = ?`, docID).Scan(&old); {
	case err == nil && old == docHash:
		return false, nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("index document %s: %w", docID, err)
	}
	if err := deleteDoc(ctx, tx, docID); err != nil {
		return false, fmt.Errorf("index document %s: %w", docID, err)
	}
	insChunk, err := tx.PrepareContext(ctx, `INSERT INTO chunks (id, doc_id, heading, text, start, end, loc) VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return false, fmt.Errorf("index document %s: %w", docID, err)
	}
	defer insChunk.Close()
	insFTS, err := tx.PrepareContext(ctx, `INSERT INTO chunks_fts (rowid, heading, text) VALUES (?, ?, ?)`)
	if err != nil {
		return false, fmt.Errorf("index document %s: %w", docID, err)
	}
	defer insFTS.Close()
	for _, c := range chunks {
		res, err := insChunk.ExecContext(ctx, c.ID, c.DocID, c.Heading, c.Text, c.Start, c.End, c.Loc)
		if err != nil {
			return false, fmt.Errorf("index document %s: chunk %s: %w", docID, c.ID, err)
		}
		rowid, err := res.LastInsertId()
		if err != nil {
			return false, fmt.Errorf("index document %s: chunk %s: %w", docID, c.ID, err)
		}
		if _, err := insFTS.ExecContext(ctx, rowid, c.Heading, c.Text); err != nil {
			return false, fmt.Errorf("index document %s: chunk %s: %w", docID, c.ID, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO docs (id, hash) VALUES (?, ?)`, docID, docHash); err != nil {
		return false, fmt.Errorf("index document %s: %w", docID, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("index document %s: commit: %w", docID, err)
	}
	ix.dropVectors(docID)
	return true, nil
}

// Remove deletes a document, its chunks and their embeddings.
func (ix *Index) Remove(ctx context.Context, docID string) error {
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("remove document %s: %w", docID, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := deleteDoc(ctx, tx, docID); err != nil {
		return fmt.Errorf("remove document %s: %w", docID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("remove document %s: commit: %w", docID, err)
	}
	ix.dropVectors(docID)
	return nil
}

func deleteDoc(ctx context.Context, tx *sql.Tx, docID string) error {
	for _, q := range []string{
		`DELETE FROM chunks_fts WHERE rowid IN (SELECT rowid FROM chunks WHERE doc_id = ?)`,
		`DELETE FROM chunks WHERE doc_id = ?`,
		`DELETE FROM embeddings WHERE doc_id = ?`,
		`DELETE FROM docs WHERE id = ?`,
	} {
		if _, err := tx.ExecContext(ctx, q, docID); err != nil {
			return err
		}
	}
	return nil
}

// Search returns the k chunks that best match query by BM25 (heading
// matches weigh double). The query is plain user text: it is reduced to
// its words, each quoted, joined with OR, so FTS5 operators and
// punctuation in it are searched as words, never parsed as syntax. A query
// with no words returns no hits.
func (ix *Index) Search(ctx context.Context, query string, k int) ([]Hit, error) {
	match := MatchQuery(query)
	if match == "" || k <= 0 {
		return nil, nil
	}
	rows, err := ix.db.QueryContext(ctx, `
		SELECT c.id, c.doc_id, c.heading, c.text, c.start, c.end, c.loc, f.s
		FROM (SELECT rowid, bm25(chunks_fts, 2.0, 1.0) AS s FROM chunks_fts
		      WHERE chunks_fts MATCH ? ORDER BY s, rowid LIMIT ?) f
		JOIN chunks c ON c.rowid = f.rowid
		ORDER BY f.s, c.rowid`, match, k)
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", query, err)
	}
	defer rows.Close()
	var hits []Hit
	for rows.Next() {
		var h Hit
		c := &h.Chunk
		if err := rows.Scan(&c.ID, &c.DocID, &c.Heading, &c.Text, &c.Start, &c.End, &c.Loc, &h.Score); err != nil {
			return nil, fmt.Errorf("search %q: %w", query, err)
		}
		h.Score = -h.Score // FTS5's bm25 is lower-is-better
		hits = append(hits, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search %q: %w", query, err)
	}
	return hits, nil
}

// MatchQuery turns user text into a safe FTS5 MATCH expression: every run
// of letters and digits becomes a quoted term, deduplicated, joined by OR.
func MatchQuery(q string) string {
	seen := map[string]bool{}
	var terms []string
	for _, w := range strings.FieldsFunc(q, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		w = strings.ToLower(w)
		if !seen[w] {
			seen[w] = true
			terms = append(terms, `"`+w+`"`) // no quote can survive FieldsFunc
		}
	}
	return strings.Join(terms, " OR ")
}

// chunksByID loads chunks by id, for vector hits.
func (ix *Index) chunksByID(ctx context.Context, ids []string) (map[string]Chunk, error) {
	out := make(map[string]Chunk, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	q := `SELECT id, doc_id, heading, text, start, end, loc FROM chunks WHERE id IN (?` + strings.Repeat(",?", len(ids)-1) + `)`
	rows, err := ix.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var c Chunk
		if err := rows.Scan(&c.ID, &c.DocID, &c.Heading, &c.Text, &c.Start, &c.End, &c.Loc); err != nil {
			return nil, err
		}
		out[c.ID] = c
	}
	return out, rows.Err()
}
