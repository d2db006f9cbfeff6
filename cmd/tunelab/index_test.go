package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestIndexAndRetrieve: the example's knowledge is indexed, a second run
// re-indexes nothing, editing one file re-indexes only that file, and a
// question finds the page that answers it.
func TestIndexAndRetrieve(t *testing.T) {
	dir := newLab(t)
	steps := []struct {
		name string
		edit func(t *testing.T)
		want string
	}{
		{"first index", func(*testing.T) {}, "8 documents"},
		{"nothing changed", func(*testing.T) {}, "0 re-indexed, 8 unchanged, 0 removed"},
		{"one file edited", func(t *testing.T) {
			appendFile(t, filepath.Join(dir, "knowledge", "refund-policy.md"), "\n## Late refunds\n\nRefunds older than a year go to store credit.\n")
		}, "1 re-indexed, 7 unchanged, 0 removed"},
		{"one file deleted", func(t *testing.T) {
			if err := os.Remove(filepath.Join(dir, "knowledge", "device-guides.md")); err != nil {
				t.Fatal(err)
			}
		}, "0 re-indexed, 7 unchanged, 1 removed"},
		{"a binary file is listed and skipped", func(t *testing.T) {
			if err := os.WriteFile(filepath.Join(dir, "knowledge", "logo.md"), []byte("\x89PNG\x00\x01"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "logo.md: binary or not UTF-8 text"},
		{"other chunk settings rebuild the index", func(t *testing.T) {
			cfg := filepath.Join(dir, "tunelab.yaml")
			raw, err := os.ReadFile(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(cfg, []byte(strings.Replace(string(raw), "chunk_tokens: 120", "chunk_tokens: 60", 1)), 0o644); err != nil {
				t.Fatal(err)
			}
		}, "rebuilt: the index was built with other settings (chunker 1, 120 tokens per chunk, overlap 20); now chunker 1, 60 tokens per chunk, overlap 20"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.edit(t)
			r := tunelab(t, dir, nil, "index")
			if r.code != 0 {
				t.Fatalf("index exit %d: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stdout, s.want) {
				t.Errorf("index said:\n%s\nwant %q", r.stdout, s.want)
			}
		})
	}
	r := tunelab(t, dir, nil, "retrieve", "-k", "1", "how many days do I have to return an item?")
	if r.code != 0 || !strings.Contains(r.stdout, "bm25, k=1\n1. knowledge/refund-policy.md") || strings.Contains(r.stdout, "\n2. ") {
		t.Errorf("retrieve exit %d, output:\n%s%s", r.code, r.stdout, r.stderr)
	}
	for _, bad := range []struct{ flag, value, want string }{
		{"--mode", "fuzzy", "use bm25, vector or hybrid"},
		{"--mode", "hybrid", "needs an embedding model: set retrieval.embed"},
		{"--rerank", "gpt-4o", "--rerank: model \"gpt-4o\": want PROVIDER:MODEL"},
	} {
		r := tunelab(t, dir, nil, "retrieve", bad.flag, bad.value, "refunds")
		if r.code != 2 || !strings.Contains(r.stderr, bad.want) {
			t.Errorf("retrieve %s %s: exit %d, stderr %q; want 2 and %q", bad.flag, bad.value, r.code, r.stderr, bad.want)
		}
	}
}

// TestIndexEmptyKnowledge: an empty knowledge folder is an error that
// says what to do, not an empty index.
func TestIndexEmptyKnowledge(t *testing.T) {
	dir := newLab(t)
	if err := os.RemoveAll(filepath.Join(dir, "knowledge")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "knowledge"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := tunelab(t, dir, nil, "index")
	if r.code == 0 || !strings.Contains(r.stderr, "no .md, .txt, .html, .pdf or .jsonl documents found") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}
