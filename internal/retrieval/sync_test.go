package retrieval

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestSync walks one index through the life of a knowledge folder: every
// step says what Sync must re-index, remove or rebuild, and whether the
// index's version moves.
func TestSync(t *testing.T) {
	ctx := context.Background()
	lab := t.TempDir()
	long := strings.Repeat("refunds are paid back to the card used within five business days. ", 30)
	writeFile(t, filepath.Join(lab, "kb", "refunds.md"), "# Refunds\n\n"+long+"\n")
	writeFile(t, filepath.Join(lab, "kb", "shipping.md"), "# Shipping\n\nParcels leave the warehouse the same day.\n")
	writeFile(t, filepath.Join(lab, "kb", "logo.md"), "\x89PNG\x00\x01")
	writeFile(t, filepath.Join(lab, "faq.txt"), "Opening hours are nine to five.\n")
	ix, err := OpenIndex(filepath.Join(lab, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()

	small := ChunkOptions{MaxTokens: 60, Overlap: 10}
	steps := []struct {
		name        string
		edit        func()
		opts        ChunkOptions
		sources     []string
		indexed     string // joined ids
		removed     string
		rebuilt     bool
		sameVersion bool
	}{
		{"first sync indexes every file, a single file too", func() {}, small, []string{"kb", "faq.txt"},
			"faq.txt kb/refunds.md kb/shipping.md", "", false, false},
		{"nothing changed", func() {}, small, []string{"kb", "faq.txt"}, "", "", false, true},
		{"one file edited", func() {
			writeFile(t, filepath.Join(lab, "kb", "shipping.md"), "# Shipping\n\nParcels leave the warehouse the next day.\n")
		}, small, []string{"kb", "faq.txt"}, "kb/shipping.md", "", false, false},
		{"a source dropped", func() {}, small, []string{"kb"}, "", "faq.txt", false, false},
		{"other chunk settings rebuild everything", func() {}, ChunkOptions{MaxTokens: 200, Overlap: 30}, []string{"kb"},
			"kb/refunds.md kb/shipping.md", "", true, false},
	}
	prev := ""
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.edit()
			rep, err := Sync(ctx, ix, SyncOptions{Root: lab, Sources: s.sources, Chunk: s.opts})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(rep.Indexed, " "); got != s.indexed {
				t.Errorf("indexed %q, want %q", got, s.indexed)
			}
			if got := strings.Join(rep.Removed, " "); got != s.removed {
				t.Errorf("removed %q, want %q", got, s.removed)
			}
			if rep.Rebuilt != s.rebuilt {
				t.Errorf("rebuilt %v, want %v (previous %q)", rep.Rebuilt, s.rebuilt, rep.Previous)
			}
			if (rep.Version == prev) != s.sameVersion {
				t.Errorf("version %s after %s: same as before = %v, want %v", rep.Version, prev, rep.Version == prev, s.sameVersion)
			}
			prev = rep.Version
			if len(rep.Skipped) != 1 || !strings.Contains(rep.Skipped[0].Reason, "binary") {
				t.Errorf("skipped %+v, want logo.md as binary", rep.Skipped)
			}
			// The index holds only chunks cut with the current settings.
			want := 0
			docs, _, err := LoadDir(filepath.Join(lab, "kb"))
			if err != nil {
				t.Fatal(err)
			}
			for _, src := range s.sources {
				if src == "faq.txt" {
					want += len(ChunkDocument(Document{ID: "faq.txt", Text: "Opening hours are nine to five.\n"}, s.opts))
				}
			}
			for _, d := range docs {
				want += len(ChunkDocument(d, s.opts))
			}
			if n, err := ix.count(ctx); err != nil || n != want || rep.Chunks != want {
				t.Errorf("index holds %d chunks (report %d), want %d (%v)", n, rep.Chunks, want, err)
			}
		})
	}
}

func TestSyncErrors(t *testing.T) {
	ctx := context.Background()
	lab := t.TempDir()
	writeFile(t, filepath.Join(lab, "bin", "x.md"), "\x00\x01")
	if err := os.MkdirAll(filepath.Join(lab, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		sources []string
		want    string
	}{
		{"no sources", nil, "no knowledge folders"},
		{"empty folder", []string{"empty"}, "knowledge empty: load documents"},
		{"only binary files", []string{"bin"}, "1 files skipped"},
		{"missing folder", []string{"nope"}, "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ix, err := OpenIndex(":memory:")
			if err != nil {
				t.Fatal(err)
			}
			defer ix.Close()
			_, err = Sync(ctx, ix, SyncOptions{Root: lab, Sources: tc.sources})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// TestSyncRebuildsUnlabelledIndex: an index written before settings were
// recorded cannot be trusted to match, so it is rebuilt.
func TestSyncRebuildsUnlabelledIndex(t *testing.T) {
	ctx := context.Background()
	lab := t.TempDir()
	writeFile(t, filepath.Join(lab, "kb", "a.md"), "alpha\n")
	ix, err := OpenIndex(":memory:")
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	old := []Chunk{{ID: "kb/a.md#0", DocID: "kb/a.md", Text: "stale"}}
	if _, err := ix.Upsert(ctx, "kb/a.md", "h", old); err != nil {
		t.Fatal(err)
	}
	rep, err := Sync(ctx, ix, SyncOptions{Root: lab, Sources: []string{"kb"}})
	if err != nil {
		t.Fatal(err)
	}
	hits, err := ix.Search(ctx, "stale", 5)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Rebuilt || len(hits) != 0 {
		t.Errorf("rebuilt %v, stale hits %d; want a rebuild and no stale chunk", rep.Rebuilt, len(hits))
	}
}
