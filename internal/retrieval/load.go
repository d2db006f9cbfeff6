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

// LoadDir reads every .md, .markdown, .txt, .html and .htm file under dir
// (recursively, hidden folders excluded) into Documents sorted by ID. HTML
// is reduced to text with headings rewritten as Markdown headings so the
// chunker keeps its structure. Files that cannot be read, are binary, are
// empty, or have another extension come back in the skipped list rather
// than failing the whole load; a folder with no loadable document is an
// error, because indexing nothing would silently make retrieval useless.
func LoadDir(dir string) ([]Document, []Skipped, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("load documents %s: %w", dir, err)
	}
	if !info.IsDir() {
		return nil, nil, fmt.Errorf("load documents %s: not a directory; pass the folder that holds the knowledge files", dir)
	}
	var docs []Document
	var skipped []Skipped
	walkErr := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			skipped = append(skipped, Skipped{Path: path, Reason: err.Error()})
			if d != nil && d.IsDir() && path != dir {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		doc, reason := loadFile(dir, path)
		if reason != "" {
			skipped = append(skipped, Skipped{Path: path, Reason: reason})
			return nil
		}
		docs = append(docs, doc)
		return nil
	})
	if walkErr != nil {
		return nil, skipped, fmt.Errorf("load documents %s: %w", dir, walkErr)
	}
	if len(docs) == 0 {
		return nil, skipped, fmt.Errorf("load documents %s: no .md, .txt or .html documents found (%d files skipped); add the task's knowledge files there", dir, len(skipped))
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].ID < docs[j].ID })
	return docs, skipped, nil
}

// loadFile returns the document or, when the file is not loadable, a reason.
func loadFile(root, path string) (Document, string) {
	ext := strings.ToLower(filepath.Ext(path))
	switch ext {
	case ".md", ".markdown", ".txt", ".html", ".htm":
	default:
		return Document{}, fmt.Sprintf("unsupported extension %q (want .md, .txt or .html)", ext)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return Document{}, "unreadable: " + err.Error()
	}
	if bytes.IndexByte(raw, 0) >= 0 || !utf8.Valid(raw) {
		return Document{}, "binary or not UTF-8 text"
	}
	text := string(raw)
	if ext == ".html" || ext == ".htm" {
		if text, err = htmlText(text); err != nil {
			return Document{}, "bad HTML: " + err.Error()
		}
	}
	if strings.TrimSpace(text) == "" {
		return Document{}, "empty"
	}
	rel, err := filepath.Rel(root, path)
	if err != nil {
		rel = path
	}
	sum := sha256.Sum256(raw)
	return Document{
		ID:   filepath.ToSlash(rel),
		Path: path,
		Text: text,
		Hash: hex.EncodeToString(sum[:]),
	}, ""
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
	var out []string
	blank := true
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
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
	return strings.TrimSpace(strings.Join(out, "\n")) + "\n"
}
