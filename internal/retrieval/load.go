package retrieval

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Skipped is a file LoadDir did not load, and why.
type Skipped struct {
	Path   string
	Reason string
}

// Extensions LoadDir reads.
var (
	textExts  = []string{".md", ".markdown", ".txt"}
	htmlExts  = []string{".html", ".htm"}
	pdfExts   = []string{".pdf"}
	jsonlExts = []string{".jsonl"}
)

// knownKinds names the loadable files in messages.
const knownKinds = ".md, .txt, .html, .pdf or .jsonl"

// LoadDir reads every .md, .markdown, .txt, .html, .htm, .pdf and .jsonl
// file under dir (recursively, hidden folders excluded) into Documents
// sorted by ID. HTML is reduced to text with headings rewritten as
// Markdown headings so the chunker keeps its structure; a PDF's text is
// extracted page by page (see pdfText); a JSONL file gives one document
// per record (see loadJSONL). Files that cannot be read, are binary, are
// empty, or have another extension come back in the skipped list rather
// than failing the whole load, and so do a PDF's unreadable pages and a
// JSONL file's bad lines; a folder with no loadable document is an error,
// because indexing nothing would silently make retrieval useless.
func LoadDir(dir string) ([]Document, []Skipped, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("load documents %s: %w", dir, err)
	}
	if !info.IsDir() {
		return nil, nil, fmt.Errorf("load documents %s: not a directory; pass the folder that holds the knowledge files", dir)
	}
	// WalkDir does not follow a symlinked root (a knowledge folder linked
	// from elsewhere); walk the folder it points to, naming documents
	// relative to it just the same.
	root := dir
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		root = real
	}
	var docs []Document
	var skipped []Skipped
	walkErr := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			skipped = append(skipped, Skipped{Path: path, Reason: err.Error()})
			if d != nil && d.IsDir() && path != root {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if path != root && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		found, bad := loadFile(root, path)
		docs = append(docs, found...)
		skipped = append(skipped, bad...)
		return nil
	})
	if walkErr != nil {
		return nil, skipped, fmt.Errorf("load documents %s: %w", dir, walkErr)
	}
	if len(docs) == 0 {
		return nil, skipped, fmt.Errorf("load documents %s: no %s documents found (%d files skipped); add the task's knowledge files there", dir, knownKinds, len(skipped))
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].ID < docs[j].ID })
	return docs, skipped, nil
}

// loadFile returns the documents in one file (one, or a JSONL file's
// records) and what of it was skipped, with reasons.
func loadFile(root, path string) ([]Document, []Skipped) {
	skip := func(reason string) ([]Document, []Skipped) {
		return nil, []Skipped{{Path: path, Reason: reason}}
	}
	ext := strings.ToLower(filepath.Ext(path))
	known := func(exts []string) bool { return slices.Contains(exts, ext) }
	if !known(textExts) && !known(htmlExts) && !known(pdfExts) && !known(jsonlExts) {
		return skip(fmt.Sprintf("unsupported extension %q (want %s)", ext, knownKinds))
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return skip("unreadable: " + err.Error())
	}
	rel, err := filepath.Rel(root, path)
	if err != nil {
		rel = path
	}
	rel = filepath.ToSlash(rel)
	if known(jsonlExts) {
		return loadJSONL(rel, path, raw)
	}
	doc := Document{ID: rel, Path: path}
	var skipped []Skipped
	if known(pdfExts) {
		text, pages, bad, reason := pdfText(raw)
		if reason != "" {
			return skip(reason)
		}
		for _, b := range bad {
			skipped = append(skipped, Skipped{Path: fmt.Sprintf("%s page %d", path, b.Page), Reason: "text not read, the other pages were: " + pdfErrText(b.Err)})
		}
		doc.Text, doc.Pages, doc.Plain = text, pages, true
		sum := sha256.Sum256(append([]byte(pdfExtractor+"\x00"), raw...))
		doc.Hash = hex.EncodeToString(sum[:])
		return []Document{doc}, skipped
	}
	if bytes.IndexByte(raw, 0) >= 0 || !utf8.Valid(raw) {
		return skip("binary or not UTF-8 text")
	}
	text := string(raw)
	if known(htmlExts) {
		if text, err = htmlText(text); err != nil {
			return skip("bad HTML: " + err.Error())
		}
	}
	if strings.TrimSpace(text) == "" {
		return skip("empty")
	}
	sum := sha256.Sum256(raw)
	doc.Text, doc.Hash = text, hex.EncodeToString(sum[:])
	return []Document{doc}, nil
}

// blockTags end a paragraph: their text must not run into the next block's.
var blockTags = map[string]bool{
	"p": true, "div": true, "br": true, "li": true, "ul": true, "ol": true,
	"table": true, "tr": true, "section": true, "article": true, "header": true,
	"footer": true, "blockquote": true, "pre": true, "hr": true, "dd": true, "dt": true,
	"h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
}

// htmlText extracts visible text, turning <h1>..<h6> into "# ".."###### "
// lines and block elements into blank-line paragraph breaks.
func htmlText(src string) (string, error) {
	z := html.NewTokenizer(strings.NewReader(src))
	var b strings.Builder
	skip := 0 // depth inside <script>/<style>/<head>, whose text is not content
	for {
		switch z.Next() {
		case html.ErrorToken:
			if errors.Is(z.Err(), io.EOF) {
				return tidyBlankLines(b.String()), nil
			}
			return "", z.Err()
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			tag := string(name)
			switch {
			case tag == "script" || tag == "style" || tag == "head" || tag == "noscript":
				skip++
			case len(tag) == 2 && tag[0] == 'h' && tag[1] >= '1' && tag[1] <= '6':
				b.WriteString("\n\n" + strings.Repeat("#", int(tag[1]-'0')) + " ")
			case blockTags[tag]:
				b.WriteString("\n\n")
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			tag := string(name)
			switch {
			case tag == "script" || tag == "style" || tag == "head" || tag == "noscript":
				if skip > 0 {
					skip--
				}
			case blockTags[tag]:
				b.WriteString("\n\n")
			}
		case html.TextToken:
			if skip == 0 {
				// Collapse whitespace so a heading's text stays on its line.
				b.WriteString(strings.Join(strings.Fields(string(z.Text())), " "))
				b.WriteString(" ")
			}
		}
	}
}

// tidyBlankLines trims each line and collapses runs of blank lines.
func tidyBlankLines(s string) string {
	return collapseBlankLines(s, strings.TrimSpace) + "\n"
}

// collapseBlankLines cleans each line with clean, keeps at most one blank
// line between paragraphs, and trims the ends.
func collapseBlankLines(s string, clean func(string) string) string {
	var out []string
	blank := true
	for _, l := range strings.Split(s, "\n") {
		l = clean(l)
		if l == "" {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		out = append(out, l)
		blank = false
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
