package retrieval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadDir(t *testing.T) {
	mixed := t.TempDir()
	write := func(dir, name string, data []byte) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(mixed, "a.md", []byte("# A\n\nalpha\n"))
	write(mixed, "sub/b.txt", []byte("beta\n"))
	write(mixed, "img.md", []byte{0x89, 'P', 'N', 'G', 0, 1, 2})
	write(mixed, "notes.pdf", []byte("%PDF"))
	write(mixed, "blank.txt", []byte("  \n"))
	write(mixed, ".git/config", []byte("x"))

	onlyBad := t.TempDir()
	write(onlyBad, "x.bin", []byte{0, 1})

	// A knowledge folder that is a link to the real one.
	linked := filepath.Join(t.TempDir(), "knowledge")
	if err := os.Symlink(mixed, linked); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name        string
		dir         string
		wantIDs     []string
		wantSkipped map[string]string // base name -> reason substring
		wantErr     string
	}{
		{"corpus", filepath.Join("testdata", "corpus"), []string{"accounts.md", "refunds.md", "shipping.txt", "warranty.html"}, map[string]string{}, ""},
		{"mixed", mixed, []string{"a.md", "sub/b.txt"}, map[string]string{"img.md": "binary", "notes.pdf": "not a PDF", "blank.txt": "empty"}, ""},
		{"symlinked folder", linked, []string{"a.md", "sub/b.txt"}, map[string]string{"img.md": "binary", "notes.pdf": "not a PDF", "blank.txt": "empty"}, ""},
		{"empty folder", t.TempDir(), nil, nil, "no .md, .txt, .html, .pdf or .jsonl documents"},
		{"only unloadable", onlyBad, nil, map[string]string{"x.bin": "unsupported"}, "no .md"},
		{"missing folder", filepath.Join(mixed, "nope"), nil, nil, "no such file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docs, skipped, err := LoadDir(tc.dir)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want it to mention %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, d := range docs {
				ids = append(ids, d.ID)
				if len(d.Hash) != 64 {
					t.Errorf("%s: hash %q is not sha256 hex", d.ID, d.Hash)
				}
			}
			if strings.Join(ids, ",") != strings.Join(tc.wantIDs, ",") {
				t.Errorf("ids %v, want %v", ids, tc.wantIDs)
			}
			if tc.wantSkipped != nil {
				if len(skipped) != len(tc.wantSkipped) {
					t.Errorf("skipped %+v, want %v", skipped, tc.wantSkipped)
				}
				for _, s := range skipped {
					want, ok := tc.wantSkipped[filepath.Base(s.Path)]
					if !ok || !strings.Contains(s.Reason, want) {
						t.Errorf("skipped %s for %q, want reason containing %q", s.Path, s.Reason, want)
					}
				}
			}
		})
	}
}

func TestHTMLText(t *testing.T) {
	docs, _, err := LoadDir(filepath.Join("testdata", "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	var html Document
	for _, d := range docs {
		if d.ID == "warranty.html" {
			html = d
		}
	}
	chunks := ChunkDocument(html, ChunkOptions{})
	cases := []struct {
		name, heading, contains string
	}{
		{"h1 section", "Warranty", "two-year warranty covering battery"},
		{"h2 section", "Warranty > Claims", "serial number printed under the keyboard"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, c := range chunks {
				if c.Heading == tc.heading && strings.Contains(c.Text, tc.contains) {
					return
				}
			}
			t.Errorf("no chunk under %q containing %q in %+v", tc.heading, tc.contains, chunks)
		})
	}
	for _, bad := range []string{"color: red", "tracking", "<p>"} {
		if strings.Contains(html.Text, bad) {
			t.Errorf("extracted text keeps %q:\n%s", bad, html.Text)
		}
	}
}
