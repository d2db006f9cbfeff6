package retrieval

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadJSONL(t *testing.T) {
	cases := []struct {
		name    string
		file    string
		docs    []Document        // ID, Title, Loc and Text compared
		skipped map[string]string // ":line" (or "" for the file) -> reason substring
	}{
		{"records with optional fields",
			`{"id": "refund-1", "title": "Refunds", "text": "Refunds take five days.", "url": "https://help.example/refunds"}` + "\n" +
				"\n" +
				`{"id": 42, "text": "Shipping is free over 50 EUR.", "lang": "en"}` + "\r\n",
			[]Document{
				{ID: "kb.jsonl#refund-1", Title: "Refunds", Loc: "https://help.example/refunds", Text: "Refunds take five days."},
				{ID: "kb.jsonl#42", Text: "Shipping is free over 50 EUR."},
			}, map[string]string{}},
		{"bad lines are skipped, the rest load",
			`{"id": "a", "text": "Alpha."}` + "\n" +
				`{"id": "b", "content": "Beta."}` + "\n" +
				`{"text": "No id."}` + "\n" +
				`{"id": "a", "text": "Alpha again."}` + "\n" +
				`{"id": ["x"], "text": "Bad id."}` + "\n" +
				`{"id": "c", "text": 7}` + "\n" +
				`{"id": "d", "text": "   "}` + "\n" +
				`{"id": "e", "text": "Fine.", "title": {"en": "x"}}` + "\n" +
				`not json` + "\n" +
				`["an", "array"]` + "\n" +
				"{\"id\": \"f\", \"text\": \"bad \xff byte\"}\n",
			[]Document{{ID: "kb.jsonl#a", Text: "Alpha."}},
			map[string]string{
				":2":  `field "text": missing; this record has "content": rename it to "text"`,
				":3":  `field "id": missing`,
				":4":  `field "id": "a" repeats the id of the record on line 1`,
				":5":  `field "id": want a string or an integer, got ["x"]`,
				":6":  `field "text": want a string, got 7`,
				":7":  `field "text": empty`,
				":8":  `field "title": want a string`,
				":9":  "not a JSON object",
				":10": "not a JSON object",
				":11": "not UTF-8 text",
			}},
		{"empty file", "\n\n", nil, map[string]string{"": "empty"}},
		{"binary file", "\x00\x01\x02", nil, map[string]string{"": "binary"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "kb.jsonl")
			if err := os.WriteFile(path, []byte(tc.file), 0o644); err != nil {
				t.Fatal(err)
			}
			docs, skipped := loadFile(dir, path)
			if len(docs) != len(tc.docs) {
				t.Fatalf("got %d documents %+v, want %d", len(docs), docs, len(tc.docs))
			}
			for i, d := range docs {
				w := tc.docs[i]
				if d.ID != w.ID || d.Title != w.Title || d.Loc != w.Loc || d.Text != w.Text || len(d.Hash) != 64 {
					t.Errorf("document %d = %+v, want %+v", i, d, w)
				}
			}
			if len(skipped) != len(tc.skipped) {
				t.Errorf("skipped %+v, want %d", skipped, len(tc.skipped))
			}
			for _, s := range skipped {
				line := strings.TrimPrefix(s.Path, path)
				want, ok := tc.skipped[line]
				if !ok || !strings.Contains(s.Reason, want) {
					t.Errorf("skipped %s (%q), want line %q with a reason containing %q", s.Path, s.Reason, line, want)
				}
			}
		})
	}
}

func TestJSONLChunks(t *testing.T) {
	long := strings.Repeat("The fuser must cool for ten minutes before it is touched. ", 12)
	doc := Document{ID: "kb/faq.jsonl#fuser", Title: "Fuser safety", Loc: "https://help.example/fuser", Text: "# Cooling\n\n" + long}
	chunks := ChunkDocument(doc, ChunkOptions{MaxTokens: 60, Overlap: 10})
	if len(chunks) < 2 {
		t.Fatalf("a long record gave %d chunks, want it cut like a document", len(chunks))
	}
	for i, c := range chunks {
		if !strings.HasPrefix(c.ID, "kb/faq.jsonl#fuser#") || c.Heading != "Fuser safety > Cooling" || c.Loc != doc.Loc {
			t.Errorf("chunk %d = %+v: want the record's id, its title over its own heading, and its url", i, c)
		}
	}
	if got := chunks[0].Label(); got != "Fuser safety > Cooling (https://help.example/fuser)" {
		t.Errorf("label %q", got)
	}
}

// TestSyncJSONL: records are documents of their own, so editing one record
// re-indexes it alone, and a file named directly keeps its records' ids.
func TestSyncJSONL(t *testing.T) {
	ctx := context.Background()
	lab := t.TempDir()
	a := `{"id": "a", "text": "Alpha ships on Monday."}`
	b := `{"id": "b/../x", "text": "Beta ships on Friday."}`
	write := func(lines ...string) {
		writeFile(t, filepath.Join(lab, "kb", "faq.jsonl"), strings.Join(lines, "\n")+"\n")
	}
	write(a, b)
	writeFile(t, filepath.Join(lab, "more.jsonl"), `{"id": 1, "text": "Gamma."}`+"\n")
	ix, err := OpenIndex(filepath.Join(lab, "index.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	steps := []struct {
		name             string
		edit             func()
		indexed, removed string
		skipped          int
	}{
		{"first sync", func() {}, "kb/faq.jsonl#a kb/faq.jsonl#b/../x more.jsonl#1", "", 0},
		{"unchanged", func() {}, "", "", 0},
		{"one record edited, one line moved", func() { write(`{"id": "b/../x", "text": "Beta ships on Saturday."}`, a) }, "kb/faq.jsonl#b/../x", "", 0},
		{"a record broken is skipped and dropped", func() { write(a, `{"id": "b/../x"}`) }, "", "kb/faq.jsonl#b/../x", 1},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.edit()
			rep, err := Sync(ctx, ix, SyncOptions{Root: lab, Sources: []string{"kb", "more.jsonl"}})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(rep.Indexed, " "); got != s.indexed {
				t.Errorf("indexed %q, want %q", got, s.indexed)
			}
			if got := strings.Join(rep.Removed, " "); got != s.removed {
				t.Errorf("removed %q, want %q", got, s.removed)
			}
			if len(rep.Skipped) != s.skipped {
				t.Errorf("skipped %+v, want %d", rep.Skipped, s.skipped)
			}
		})
	}
	hits, err := ix.Search(ctx, "alpha monday", 1)
	if err != nil || len(hits) != 1 || hits[0].Chunk.ID != "kb/faq.jsonl#a#0" {
		t.Fatalf("hits %+v (%v), want the record's chunk kb/faq.jsonl#a#0", hits, err)
	}
}
