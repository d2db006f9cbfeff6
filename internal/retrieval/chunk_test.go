package retrieval

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/testutil/golden"
)

func TestChunkDocumentGolden(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "policy.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := Document{ID: "policy.md", Text: string(raw)}
	cases := []struct {
		name   string
		opts   ChunkOptions
		golden string
	}{
		{"defaults", ChunkOptions{}, "policy.default.golden.json"},
		{"small chunks with overlap", ChunkOptions{MaxTokens: 40, Overlap: 8}, "policy.small.golden.json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			chunks := ChunkDocument(doc, tc.opts)
			got, err := json.MarshalIndent(chunks, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", tc.golden)
			golden.Check(t, path, got)
		})
	}
}

func TestChunkDocumentInvariants(t *testing.T) {
	long := strings.Repeat("alpha beta gamma delta epsilon. ", 120)
	cases := []struct {
		name        string
		text        string
		opts        ChunkOptions
		wantChunks  int
		wantHeading []string // per chunk, when set
	}{
		{"empty", "", ChunkOptions{}, 0, nil},
		{"headings only", "# A\n\n## B\n", ChunkOptions{}, 0, nil},
		{"plain text no heading", "one two\n\nthree four\n", ChunkOptions{}, 1, []string{""}},
		{"heading path", "# Refund policy\n\nintro\n\n## Exceptions\n\ngift cards\n\n# Shipping\n\nfast\n", ChunkOptions{},
			3, []string{"Refund policy", "Refund policy > Exceptions", "Shipping"}},
		{"skipped level", "# A\n\n### C\n\ntext\n", ChunkOptions{}, 1, []string{"A > C"}},
		{"hashtag is text", "#tag not a heading\n", ChunkOptions{}, 1, []string{""}},
		{"fence keeps comment", "# A\n\n```\n# not heading\n```\n", ChunkOptions{}, 1, []string{"A"}},
		{"long paragraph split", long, ChunkOptions{MaxTokens: 100, Overlap: 20}, 10, nil},
		{"custom counter", "a b c d e f g h", ChunkOptions{MaxTokens: 3, Overlap: 1, Tokens: func(s string) int { return len(strings.Fields(s)) }}, 4, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			doc := Document{ID: "d", Text: tc.text}
			chunks := ChunkDocument(doc, tc.opts)
			if len(chunks) != tc.wantChunks {
				t.Fatalf("got %d chunks, want %d: %+v", len(chunks), tc.wantChunks, chunks)
			}
			opts := tc.opts.withDefaults()
			for i, c := range chunks {
				if c.Text != tc.text[c.Start:c.End] {
					t.Errorf("chunk %d: Text is not doc.Text[Start:End]", i)
				}
				if n := opts.Tokens(c.Text); n > opts.MaxTokens {
					t.Errorf("chunk %d has %d tokens, max %d", i, n, opts.MaxTokens)
				}
				if want := "d#" + itoa(i); c.ID != want {
					t.Errorf("chunk %d id %q, want %q", i, c.ID, want)
				}
				if tc.wantHeading != nil && c.Heading != tc.wantHeading[i] {
					t.Errorf("chunk %d heading %q, want %q", i, c.Heading, tc.wantHeading[i])
				}
				if i > 0 && c.Start >= chunks[i-1].End && c.Heading == chunks[i-1].Heading && opts.Overlap > 0 {
					t.Errorf("chunk %d does not overlap chunk %d", i, i-1)
				}
			}
		})
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
