package retrieval

import (
	"context"
	"path/filepath"
	"testing"
)

func openTestIndex(t *testing.T) *Index {
	t.Helper()
	ix, err := OpenIndex(filepath.Join(t.TempDir(), "rag.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	return ix
}

// indexCorpus loads testdata/corpus into ix and returns the documents.
func indexCorpus(t *testing.T, ix *Index) []Document {
	t.Helper()
	docs, _, err := LoadDir(filepath.Join("testdata", "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if _, err := ix.Upsert(context.Background(), d.ID, d.Hash, ChunkDocument(d, ChunkOptions{})); err != nil {
			t.Fatal(err)
		}
	}
	return docs
}

func TestFTS5CompiledIn(t *testing.T) {
	ix := openTestIndex(t)
	cases := []struct{ name, query string }{
		{"compile option", `SELECT sqlite_compileoption_used('ENABLE_FTS5')`},
		{"fts5 table works", `SELECT count(*) = 0 FROM chunks_fts WHERE chunks_fts MATCH '"x"'`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ok int
			if err := ix.db.QueryRow(tc.query).Scan(&ok); err != nil {
				t.Fatal(err)
			}
			if ok != 1 {
				t.Errorf("%s returned %d, want 1", tc.query, ok)
			}
		})
	}
}

func TestUpsertOnlyChangedDocs(t *testing.T) {
	ctx := context.Background()
	ix := openTestIndex(t)
	v1 := Document{ID: "a.md", Text: "# A\n\nthe kiwi ships on tuesday\n", Hash: "h1"}
	v2 := Document{ID: "a.md", Text: "# A\n\nthe mango ships on friday\n", Hash: "h2"}
	other := Document{ID: "b.md", Text: "# B\n\nthe papaya ships daily\n", Hash: "hb"}
	steps := []struct {
		name        string
		doc         Document
		wantChanged bool
		query       string
		wantHits    int
	}{
		{"new doc", v1, true, "kiwi", 1},
		{"same hash skipped", v1, false, "kiwi", 1},
		{"other doc", other, true, "papaya", 1},
		{"changed hash replaces chunks", v2, true, "kiwi", 0},
		{"new text searchable", v2, false, "mango", 1},
		{"other doc untouched", other, false, "papaya", 1},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			changed, err := ix.Upsert(ctx, st.doc.ID, st.doc.Hash, ChunkDocument(st.doc, ChunkOptions{}))
			if err != nil {
				t.Fatal(err)
			}
			if changed != st.wantChanged {
				t.Errorf("changed = %v, want %v", changed, st.wantChanged)
			}
			hits, err := ix.Search(ctx, st.query, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != st.wantHits {
				t.Errorf("search %q: %d hits, want %d: %+v", st.query, len(hits), st.wantHits, hits)
			}
		})
	}
	hashes, err := ix.DocHashes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if hashes["a.md"] != "h2" || hashes["b.md"] != "hb" || len(hashes) != 2 {
		t.Errorf("hashes %v", hashes)
	}
	if err := ix.Remove(ctx, "b.md"); err != nil {
		t.Fatal(err)
	}
	if hits, _ := ix.Search(ctx, "papaya", 10); len(hits) != 0 {
		t.Errorf("removed doc still found: %+v", hits)
	}
	var n int
	if err := ix.db.QueryRow(`SELECT count(*) FROM chunks_fts`).Scan(&n); err != nil || n != 1 {
		t.Errorf("fts rows %d (err %v), want 1 after replace and remove", n, err)
	}
}

func TestUpsertRejectsForeignChunk(t *testing.T) {
	ix := openTestIndex(t)
	_, err := ix.Upsert(context.Background(), "a", "h", []Chunk{{ID: "b#0", DocID: "b"}})
	if err == nil {
		t.Fatal("want an error for a chunk of another document")
	}
}

func TestSearchFindsRightChunk(t *testing.T) {
	ix := openTestIndex(t)
	indexCorpus(t, ix)
	cases := []struct {
		name, query, wantDoc, wantHeading string
	}{
		{"refund exceptions", "Can I get a refund for a gift card?", "refunds.md", "Refunds > Exceptions"},
		{"stemming", "how long does express shipping take", "shipping.txt", ""},
		{"html body", "laptop battery warranty", "warranty.html", "Warranty"},
		{"html h2", "where is the serial number", "warranty.html", "Warranty > Claims"},
		{"password", "reset my password", "accounts.md", "Accounts > Password reset"},
		{"heading match", "deleting account", "accounts.md", "Accounts > Deleting an account"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hits, err := ix.Search(context.Background(), tc.query, 3)
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) == 0 {
				t.Fatalf("no hits for %q", tc.query)
			}
			top := hits[0]
			if top.Chunk.DocID != tc.wantDoc || top.Chunk.Heading != tc.wantHeading {
				t.Errorf("top hit %s %q, want %s %q (all: %+v)", top.Chunk.DocID, top.Chunk.Heading, tc.wantDoc, tc.wantHeading, hits)
			}
			for i := 1; i < len(hits); i++ {
				if hits[i].Score > hits[i-1].Score {
					t.Errorf("hits not sorted by score: %v > %v", hits[i].Score, hits[i-1].Score)
				}
			}
		})
	}
}

func TestSearchSpecialCharacters(t *testing.T) {
	ix := openTestIndex(t)
	indexCorpus(t, ix)
	cases := []struct {
		name, query string
		wantAny     bool
	}{
		{"double quote", `refund "gift`, true},
		{"unbalanced quotes", `"""`, false},
		{"star, stemmed to ship", `ship*`, true},
		{"prefix star word", `refund*`, true},
		{"NEAR operator", `NEAR(refund gift, 2)`, true},
		{"NEAR alone", `NEAR`, false},
		{"minus", `-refund -gift`, true},
		{"column filter colon", `text: refund`, true},
		{"colon alone", `:`, false},
		{"boolean words searched as words", `AND OR NOT`, true},
		{"boolean words absent from corpus", `NOT NOT`, false},
		{"parens and caret", `(^refund) + {gift}`, true},
		{"empty", ``, false},
		{"diacritics folded", `réfund`, true},
		{"cjk absent", `退款`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hits, err := ix.Search(context.Background(), tc.query, 5)
			if err != nil {
				t.Fatalf("query %q: %v", tc.query, err)
			}
			if (len(hits) > 0) != tc.wantAny {
				t.Errorf("query %q: %d hits, want any = %v", tc.query, len(hits), tc.wantAny)
			}
		})
	}
}

func TestMatchQuery(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"words", "Gift card", `"gift" OR "card"`},
		{"dedupe", "ship Ship SHIP", `"ship"`},
		{"operators are words", `a NEAR b`, `"a" OR "near" OR "b"`},
		{"punctuation dropped", `"x" * -y: z`, `"x" OR "y" OR "z"`},
		{"nothing", ` "*- `, ``},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := MatchQuery(tc.in); got != tc.want {
				t.Errorf("MatchQuery(%q) = %s, want %s", tc.in, got, tc.want)
			}
		})
	}
}
