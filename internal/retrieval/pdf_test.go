package retrieval

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/testutil/golden"
)

// manualPages is a two-page manual: a title, paragraphs of two lines, and
// a paragraph that runs on to the second page.
func manualPages() []testPage {
	return []testPage{
		{content: textLines(
			"Printer manual", "",
			"Refunds are paid within five", "business days of the return.", "",
			"Sale items can be exchanged", "but not refunded.", "",
			"The warranty covers the paper", "feed and the fuser for two",
		)},
		{content: textLines(
			"years from the date of purchase.", "",
			"Shipping takes two days.",
		)},
	}
}

func loadPDF(t *testing.T, data []byte) ([]Document, []Skipped) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "doc.pdf")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return loadFile(dir, path)
}

func TestPDFText(t *testing.T) {
	bogus := testPage{content: textLines("never read"), contentDict: "/Filter /NoSuchFilter"}
	cases := []struct {
		name string
		pdf  []byte
		want string // the document's text
	}{
		{"lines, paragraphs and a page break", buildPDF(manualPages(), pdfOptions{}),
			"Printer manual\n\nRefunds are paid within five\nbusiness days of the return.\n\nSale items can be exchanged\nbut not refunded.\n\n" +
				"The warranty covers the paper\nfeed and the fuser for two\n\nyears from the date of purchase.\n\nShipping takes two days.\n"},
		{"kerned pieces join, a wide kern is a space", buildPDF([]testPage{{content: "BT /F1 12 Tf 72 720 Td [(Hel) 20 (lo) -400 (world)] TJ ET"}}, pdfOptions{}),
			"Hello world\n"},
		{"a gap on one baseline is a space", buildPDF([]testPage{{content: "BT /F1 12 Tf 72 720 Td (Total:) Tj 60 0 Td (42 EUR) Tj ET"}}, pdfOptions{}),
			"Total: 42 EUR\n"},
		{"WinAnsi accents decode", buildPDF([]testPage{{content: `BT /F1 12 Tf 72 720 Td (Caf\351 cr\350me) Tj ET`}}, pdfOptions{}),
			"Café crème\n"},
		{"text inside a form XObject", buildPDF([]testPage{{content: "q /X1 Do Q", form: textLines("Header in a form")}}, pdfOptions{}),
			"Header in a form\n"},
		{"a page flipped by its transformation reads top down", buildPDF([]testPage{{content: "1 0 0 -1 0 792 cm BT /F1 12 Tf 1 0 0 -1 72 72 Tm (First line) Tj 0 -14 Td (Second line) Tj ET"}}, pdfOptions{}),
			"First line\nSecond line\n"},
		{"PDF 2.0 header", buildPDF([]testPage{{content: textLines("Version two")}}, pdfOptions{header: "%PDF-2.0"}),
			"Version two\n"},
		{"encrypted with an owner password only", buildPDF([]testPage{{content: textLines("Readable by anyone")}}, pdfOptions{encrypt: true, ownerPassword: "boss"}),
			"Readable by anyone\n"},
		{"an unreadable page is left out", buildPDF([]testPage{{content: textLines("Page one")}, bogus, {content: textLines("Page three")}}, pdfOptions{}),
			"Page one\n\nPage three\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docs, skipped := loadPDF(t, tc.pdf)
			if len(docs) != 1 {
				t.Fatalf("got %d documents, skipped %+v; want one", len(docs), skipped)
			}
			if docs[0].Text != tc.want {
				t.Errorf("text %q\nwant %q", docs[0].Text, tc.want)
			}
			if !docs[0].Plain || len(docs[0].Hash) != 64 {
				t.Errorf("document %+v: want plain text with a sha256 hash", docs[0])
			}
			for _, s := range skipped {
				if !strings.HasSuffix(s.Path, "doc.pdf page 2") || !strings.Contains(s.Reason, "NoSuchFilter") {
					t.Errorf("skipped %+v; only page 2 of the damaged file should be", s)
				}
			}
		})
	}
}

func TestPDFSkipReasons(t *testing.T) {
	good := buildPDF([]testPage{{content: textLines("Some text")}}, pdfOptions{})
	cases := []struct {
		name string
		pdf  []byte
		want string // in the reason
	}{
		{"needs a user password", buildPDF([]testPage{{content: textLines("Secret")}}, pdfOptions{encrypt: true, userPassword: "s3cret"}),
			"encrypted: it needs a password"},
		{"encrypted with AES-256", []byte(strings.Replace(string(buildPDF([]testPage{{content: textLines("Secret")}}, pdfOptions{encrypt: true})), "/V 2 /R 3", "/V 5 /R 6", 1)),
			"encrypted with a method tunelab cannot read"},
		{"images only", buildPDF([]testPage{{content: "q 100 0 0 100 72 600 cm 0 0 1 1 re f Q"}}, pdfOptions{}),
			"no text in it"},
		{"fonts with no Unicode map", buildPDF([]testPage{{content: "BT /F2 12 Tf 72 720 Td <0312045603120456> Tj ET"}}, pdfOptions{cidFont: true}),
			"cannot be decoded"},
		{"truncated", good[:len(good)/2], "damaged or truncated"},
		{"not a PDF", []byte("<html>not a pdf</html>"), "not a PDF file"},
		{"header only", []byte("%PDF-1.4\n"), "damaged"},
		{"an absurd object count", []byte(strings.Replace(string(good), "xref\n0 ", "xref\n0 9999999999", 1)), "more than a"},
		{"an absurd trailer size", []byte(strings.Replace(string(good), "/Size ", "/Size 88888888888", 1)), "more than a"},
		{"every page unreadable", buildPDF([]testPage{{content: textLines("x"), contentDict: "/Filter /NoSuchFilter"}}, pdfOptions{}),
			"damaged PDF: page 1"},
		{"no pages", []byte(strings.Replace(string(good), "/Kids [", "/Kidz [", 1)), "no pages"},
		// The parser's lexer would read spaces forever at the end of a
		// stream cut inside a hex string (found by FuzzPDFText).
		{"a content stream cut inside a hex string", buildPDF([]testPage{{content: "BT /F1 12 Tf 72 720 Td <48656C6C6F"}}, pdfOptions{}),
			"content stream ends inside a hex string"},
		{"a font's Unicode map cut inside a hex string", buildPDF([]testPage{{content: "BT /F2 12 Tf 72 720 Td <0048> Tj ET"}}, pdfOptions{cidFont: true, cmap: "begincmap 1 beginbfchar <0048> <00"}),
			"Unicode map ends inside a hex string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			docs, skipped := loadPDF(t, tc.pdf)
			if len(docs) != 0 || len(skipped) != 1 {
				t.Fatalf("docs %+v, skipped %+v; want the file skipped", docs, skipped)
			}
			if !strings.Contains(skipped[0].Reason, tc.want) {
				t.Errorf("reason %q, want it to contain %q", skipped[0].Reason, tc.want)
			}
		})
	}
}

// TestPDFChunksGolden pins how a PDF becomes chunks: page breaks are
// paragraph breaks, and each chunk names the pages it comes from.
func TestPDFChunksGolden(t *testing.T) {
	pages := manualPages()
	pages = append(pages[:1], append([]testPage{{content: "q Q"}}, pages[1:]...)...) // an empty page 2
	docs, skipped := loadPDF(t, buildPDF(pages, pdfOptions{}))
	if len(docs) != 1 || len(skipped) != 0 {
		t.Fatalf("docs %d, skipped %+v", len(docs), skipped)
	}
	doc := docs[0]
	doc.ID = "manual.pdf"
	chunks := ChunkDocument(doc, ChunkOptions{MaxTokens: 16, Overlap: 4})
	got, err := json.MarshalIndent(chunks, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "manual.pdf.golden.json")
	golden.Check(t, path, got)
	locs := map[string]bool{}
	for _, c := range chunks {
		locs[c.Loc] = true
		if c.Heading != "" {
			t.Errorf("chunk %s has heading %q; a PDF's text has none", c.ID, c.Heading)
		}
	}
	for _, want := range []string{"page 1", "pages 1-3", "page 3"} {
		if !locs[want] {
			t.Errorf("no chunk located at %q in %v (page 2 is empty)", want, locs)
		}
	}
}

func TestPageLoc(t *testing.T) {
	pages := []int{0, 10, 10, 30} // page 2 is empty: it starts where page 3 does
	cases := []struct {
		name       string
		start, end int
		want       string
	}{
		{"first page", 0, 9, "page 1"},
		{"after the empty page", 10, 20, "page 3"},
		{"across the empty page", 5, 35, "pages 1-4"},
		{"last page", 30, 40, "page 4"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := pageLoc(pages, tc.start, tc.end); got != tc.want {
				t.Errorf("pageLoc(%d, %d) = %q, want %q", tc.start, tc.end, got, tc.want)
			}
		})
	}
}

// FuzzPDFText feeds damaged variants of the fixtures to the PDF loader: it
// must give text or a reason, never panic, hang or run out of memory.
func FuzzPDFText(f *testing.F) {
	f.Add(buildPDF(manualPages(), pdfOptions{}))
	f.Add(buildPDF([]testPage{{content: "q /X1 Do Q", form: textLines("Header in a form")}}, pdfOptions{header: "%PDF-2.0"}))
	f.Add(buildPDF([]testPage{{content: "BT /F1 12 Tf 72 720 Td [(Hel) 20 (lo) -400 (world)] TJ ET"}}, pdfOptions{encrypt: true}))
	f.Add(buildPDF([]testPage{{content: "BT /F2 12 Tf 72 720 Td <0312045603120456> Tj ET"}}, pdfOptions{cidFont: true}))
	f.Add(buildPDF([]testPage{{content: textLines("x")}}, pdfOptions{encrypt: true, userPassword: "pw"}))
	f.Add(buildPDF([]testPage{{content: "BT /F1 12 Tf 72 720 Td <48656C6C6F"}}, pdfOptions{}))
	f.Fuzz(func(t *testing.T, data []byte) {
		text, pages, _, reason := pdfText(data)
		if reason == "" {
			if strings.TrimSpace(text) == "" || len(pages) == 0 {
				t.Fatalf("no reason, but text %q and pages %v", text, pages)
			}
			for i, p := range pages {
				if p < 0 || p > len(text) || (i > 0 && p < pages[i-1]) {
					t.Fatalf("page offsets %v out of order for %d bytes of text", pages, len(text))
				}
			}
		} else if text != "" {
			t.Fatalf("reason %q, but text %q", reason, text)
		}
	})
}
