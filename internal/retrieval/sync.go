package retrieval

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// chunkerVersion changes whenever ChunkDocument would cut the same text
// differently, so an index built by an older chunker is rebuilt rather than
// mixed with new chunks.
const chunkerVersion = "1"

// Settings are what decides how documents become chunks. An index records
// the settings it was built with; syncing it with other settings rebuilds
// it, because chunks cut two ways would be retrieved side by side.
type Settings struct {
	MaxTokens int
	Overlap   int
}

// SettingsOf returns the settings opts resolve to once defaults are filled.
func SettingsOf(opts ChunkOptions) Settings {
	o := opts.withDefaults()
	return Settings{MaxTokens: o.MaxTokens, Overlap: o.Overlap}
}

func (s Settings) String() string {
	return fmt.Sprintf("chunker %s, %d tokens per chunk, overlap %d", chunkerVersion, s.MaxTokens, s.Overlap)
}

// SyncOptions say what knowledge an index should hold.
type SyncOptions struct {
	// Root is the folder Sources are relative to (the lab).
	Root string
	// Sources are the knowledge folders or files, as the config names them;
	// a document's id is its path under Root ("knowledge/refunds.md").
	Sources []string
	Chunk   ChunkOptions
}

// SyncReport says what a Sync did.
type SyncReport struct {
	Docs    int      // documents found
	Chunks  int      // chunks they make
	Indexed []string // documents (re-)indexed because they are new or changed
	Removed []string // documents dropped because they are no longer on disk
	Skipped []Skipped
	// Rebuilt is set when the index had been built with other settings
	// (Previous) and was emptied first.
	Rebuilt  bool
	Previous string
	// Version identifies the indexed content and settings: equal versions
	// retrieve the same chunks for the same query.
	Version string
}

// Sync makes the index hold exactly the documents under o.Sources, chunked
// with o.Chunk: unchanged documents (by content hash) are left alone, new
// and edited ones re-indexed, vanished ones removed. An index built with
// other chunk settings is emptied and rebuilt. A source with no loadable
// document is an error.
func Sync(ctx context.Context, ix *Index, o SyncOptions) (*SyncReport, error) {
	if len(o.Sources) == 0 {
		return nil, errors.New("sync knowledge index: no knowledge folders given")
	}
	want := SettingsOf(o.Chunk)
	rep := &SyncReport{}
	have, ok, err := ix.settings(ctx)
	if err != nil {
		return nil, err
	}
	if ok && have != want {
		if err := ix.reset(ctx); err != nil {
			return nil, err
		}
		rep.Rebuilt, rep.Previous = true, have.String()
	}
	if !ok || have != want {
		if err := ix.saveSettings(ctx, want); err != nil {
			return nil, err
		}
	}

	seen := map[string]bool{}
	var docs []Document
	for _, src := range o.Sources {
		path := src
		if !filepath.IsAbs(path) {
			path = filepath.Join(o.Root, src)
		}
		found, skipped, dir, err := loadSource(path)
		rep.Skipped = append(rep.Skipped, skipped...)
		if err != nil {
			return rep, fmt.Errorf("knowledge %s: %w", src, err)
		}
		for _, d := range found {
			// Keyed by the path in the lab, so two folders may hold files
			// of the same name.
			d.ID = labDocID(src, dir, d.ID)
			if seen[d.ID] {
				continue
			}
			seen[d.ID] = true
			docs = append(docs, d)
		}
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].ID < docs[j].ID })
	h := sha256.New()
	fmt.Fprintf(h, "%s\n", want)
	for _, d := range docs {
		cs := ChunkDocument(d, o.Chunk)
		changed, err := ix.Upsert(ctx, d.ID, d.Hash, cs)
		if err != nil {
			return rep, fmt.Errorf("index %s: %w", d.Path, err)
		}
		rep.Docs++
		rep.Chunks += len(cs)
		if changed {
			rep.Indexed = append(rep.Indexed, d.ID)
		}
		fmt.Fprintf(h, "%s %s\n", d.ID, d.Hash)
	}
	hashes, err := ix.DocHashes(ctx)
	if err != nil {
		return rep, err
	}
	var gone []string
	for id := range hashes {
		if !seen[id] {
			gone = append(gone, id)
		}
	}
	sort.Strings(gone)
	for _, id := range gone {
		if err := ix.Remove(ctx, id); err != nil {
			return rep, err
		}
		rep.Removed = append(rep.Removed, id)
	}
	rep.Version = hex.EncodeToString(h.Sum(nil))[:16]
	return rep, nil
}

// loadSource loads a folder, or a single file named directly; dir
// reports which, since the documents' ids are relative to the folder, or
// to the file's own folder.
func loadSource(path string) (docs []Document, skipped []Skipped, dir bool, err error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, nil, false, fmt.Errorf("load documents: %w", err)
	}
	if info.IsDir() {
		docs, skipped, err = LoadDir(path)
		return docs, skipped, true, err
	}
	docs, skipped = loadFile(filepath.Dir(path), path)
	if len(docs) == 0 {
		reason := "nothing to index"
		if len(skipped) > 0 {
			reason = skipped[0].Reason
		}
		return nil, skipped, false, fmt.Errorf("load documents %s: %s", path, reason)
	}
	return docs, skipped, false, nil
}

// labDocID names a document by its path in the lab: the source as the
// config writes it, then the document's id under it. A file named
// directly is the source itself; its records keep their "#id". Joined as
// text rather than as a path, so that a record id with "/" or ".." in it
// stays as written.
func labDocID(src string, dir bool, id string) string {
	src = path.Clean(filepath.ToSlash(src))
	if !dir {
		// id is the file's name, then "#record" for a record.
		return src + strings.TrimPrefix(id, path.Base(src))
	}
	if src == "." {
		return id
	}
	return src + "/" + id
}

// settings reads the chunk settings the index was built with; ok is false
// for an index that has none recorded (new, or written before settings
// were kept).
func (ix *Index) settings(ctx context.Context) (Settings, bool, error) {
	rows, err := ix.db.QueryContext(ctx, `SELECT key, value FROM meta`)
	if err != nil {
		return Settings{}, false, fmt.Errorf("read index settings of %s: %w", ix.path, err)
	}
	defer rows.Close()
	m := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return Settings{}, false, fmt.Errorf("read index settings of %s: %w", ix.path, err)
		}
		m[k] = v
	}
	if err := rows.Err(); err != nil {
		return Settings{}, false, fmt.Errorf("read index settings of %s: %w", ix.path, err)
	}
	delete(m, "embed_model") // not a chunk setting
	if len(m) == 0 {
		// Chunks without recorded settings cannot be trusted to match.
		n, err := ix.count(ctx)
		if err != nil {
			return Settings{}, false, err
		}
		if n > 0 {
			return Settings{MaxTokens: -1}, true, nil
		}
		return Settings{}, false, nil
	}
	var s Settings
	s.MaxTokens, _ = strconv.Atoi(m["max_tokens"])
	s.Overlap, _ = strconv.Atoi(m["overlap"])
	if m["chunker"] != chunkerVersion {
		s.MaxTokens = -1 // never equal to a valid setting: forces a rebuild
	}
	return s, true, nil
}

func (ix *Index) saveSettings(ctx context.Context, s Settings) error {
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("save index settings: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for k, v := range map[string]string{"chunker": chunkerVersion, "max_tokens": strconv.Itoa(s.MaxTokens), "overlap": strconv.Itoa(s.Overlap)} {
		if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, k, v); err != nil {
			return fmt.Errorf("save index settings: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("save index settings: %w", err)
	}
	return nil
}

func (ix *Index) count(ctx context.Context) (int, error) {
	var n int
	if err := ix.db.QueryRowContext(ctx, `SELECT count(*) FROM chunks`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count chunks in %s: %w", ix.path, err)
	}
	return n, nil
}

// reset empties the index: documents, chunks, embeddings and settings.
func (ix *Index) reset(ctx context.Context) error {
	tx, err := ix.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("rebuild index %s: %w", ix.path, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	for _, q := range []string{`DELETE FROM chunks_fts`, `DELETE FROM chunks`, `DELETE FROM embeddings`, `DELETE FROM docs`, `DELETE FROM meta`} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("rebuild index %s: %w", ix.path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("rebuild index %s: %w", ix.path, err)
	}
	ix.mu.Lock()
	ix.vec = nil
	ix.mu.Unlock()
	return nil
}

var errNoRowsSentinel = sql.ErrNoRows
