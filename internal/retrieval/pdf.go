package retrieval

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
)

// pdfExtractor names the way text is taken out of PDFs. It is part of a
// PDF's content hash, so a change to the extraction re-indexes PDFs (and
// only them) even though their bytes did not change.
const pdfExtractor = "pdf-text-1"

// Limits that keep a hostile or broken PDF from taking the process down.
// The parser reads objects again on every lookup and trusts the counts a
// file declares, so a loop in the file (a page tree or /Prev chain that
// points back at itself) would read forever and a huge declared count would
// allocate without bound.
const (
	pdfMaxPages     = 100_000
	pdfMaxTreeDepth = 64
	pdfMaxFormDepth = 8
	pdfMaxOps       = 20_000_000 // content-stream operators per file
	pdfMaxText      = 32 << 20   // bytes of text per file
	pdfReadFloor    = 1 << 30    // bytes the parser may read, at least...
	pdfReadFactor   = 64         // ...or this many times the file
	pdfMaxObjects   = 1 << 20    // object numbers (and sizes) allowed in any file, or one per byte of a bigger one
	pdfMaxWidths    = 1 << 16    // glyph widths read per font
	pdfStackLimit   = 1 << 12    // nested q (save state) operators kept
)

// How text is judged and laid out. Distances are in ems of the text's
// font size, so they hold for any size of type.
const (
	pdfMinTextShare = 0.5  // letters and digits among visible characters
	pdfGapSpace     = 0.2  // a gap this many ems wide between two pieces is a space
	pdfSameLine     = 0.5  // baselines this many ems apart are one line
	pdfParaFactor   = 1.3  // a line gap this many times the usual one starts a paragraph
	pdfFarJump      = 3.0  // a drop of this many ems always starts a paragraph
	pdfGlyphGuess   = 0.5  // ems per glyph when a font gives no widths
	pdfDefaultWidth = 1000 // a CID font's glyph width when it declares none
)

// errPDFLimit stops a parse that went past one of the limits.
type errPDFLimit struct{ what string }

func (e errPDFLimit) Error() string { return "exceeds tunelab's limit on " + e.what }

// pdfPageError is a page whose text could not be read.
type pdfPageError struct {
	Page int
	Err  error
}

// pdfText extracts the text of a text PDF, page by page: pages are
// separated by a blank line, so a page break is a paragraph boundary, and
// pages[i] is the byte offset in text where page i+1 starts. Lines and
// paragraphs are rebuilt from where the text is drawn. It never panics:
// a file that cannot be read gives a reason, which the loader lists as
// the file's skip reason. Pages that fail while others work come back in
// bad, and the document keeps the rest.
func pdfText(raw []byte) (text string, pages []int, bad []pdfPageError, reason string) {
	if reason := pdfPrecheck(raw); reason != "" {
		return "", nil, nil, reason
	}
	src := &pdfSource{data: raw, budget: max(pdfReadFloor, pdfReadFactor*int64(len(raw)))}
	r, err := openPDF(src)
	if err != nil {
		return "", nil, nil, pdfOpenReason(err)
	}
	list, err := pdfPageList(r)
	if err != nil {
		return "", nil, nil, "damaged PDF: " + pdfErrText(err)
	}
	if len(list) == 0 {
		return "", nil, nil, "damaged PDF: it has no pages"
	}
	ex := &pdfExtraction{}
	drawn := make([][]piece, len(list))
	read := 0
	for i, pg := range list {
		ps, err := ex.page(pg)
		if err != nil {
			var lim errPDFLimit
			if errors.As(err, &lim) {
				return "", nil, nil, "PDF too large or complex to read: " + pdfErrText(err)
			}
			bad = append(bad, pdfPageError{Page: i + 1, Err: err})
			continue
		}
		read++
		drawn[i] = ps
	}
	usual := usualLineGap(drawn)
	var b strings.Builder
	pages = make([]int, len(list))
	for i, ps := range drawn {
		t := layout(ps, usual)
		// An empty page starts where the next page's text will, so no
		// chunk is placed on it.
		if t != "" && b.Len() > 0 {
			b.WriteString("\n\n")
		}
		pages[i] = b.Len()
		b.WriteString(t)
	}
	text = b.String()
	if read == 0 {
		return "", nil, nil, fmt.Sprintf("damaged PDF: page %d: %s", bad[0].Page, pdfErrText(bad[0].Err))
	}
	if strings.TrimSpace(text) == "" {
		return "", nil, nil, "no text in it: the PDF holds only images (a scan?); run OCR on it (for example ocrmypdf) and index the result"
	}
	if share := textShare(text); share < pdfMinTextShare {
		return "", nil, nil, fmt.Sprintf("its text cannot be decoded (%.0f%% of the characters are letters or digits): the fonts map glyphs to no Unicode characters; export it again with text, or run OCR on it", 100*share)
	}
	return text + "\n", pages, bad, ""
}

// openPDF opens the file with the parser's panics turned into errors.
func openPDF(src *pdfSource) (r *pdf.Reader, err error) {
	defer recoverPDF(&err)
	return pdf.NewReader(src, int64(len(src.data)))
}

// pdfOpenReason turns the parser's open error into a reason that says
// what to do.
func pdfOpenReason(err error) string {
	msg := pdfErrText(err)
	var lim errPDFLimit
	switch {
	case errors.Is(err, pdf.ErrInvalidPassword):
		return "encrypted: it needs a password to open; index a decrypted copy (for example qpdf --decrypt --password=... in.pdf out.pdf)"
	case strings.Contains(msg, "encryption"):
		return "encrypted with a method tunelab cannot read (" + msg + "); index a decrypted copy (for example qpdf --decrypt in.pdf out.pdf)"
	case errors.As(err, &lim):
		return "PDF too large or complex to read: " + msg
	case strings.Contains(msg, "%%EOF") || strings.Contains(msg, "startxref"):
		return "damaged or truncated PDF (" + msg + "); export or download it again"
	default:
		return "damaged PDF: " + msg
	}
}

// pdfErrText is an error's message fit for a skip reason: the parser
// quotes the bytes it choked on, which may be binary.
func pdfErrText(err error) string {
	msg := strings.Map(func(r rune) rune {
		if r == utf8.RuneError || unicode.IsControl(r) {
			return '.'
		}
		return r
	}, strings.ToValidUTF8(err.Error(), "."))
	return clip(msg, 200)
}

// recoverPDF turns a panic inside the parser into an error. The parser
// reports malformed input by panicking; a runtime error there is a file it
// could not cope with too, so it is treated the same way.
func recoverPDF(err *error) {
	if x := recover(); x != nil {
		switch e := x.(type) {
		case errPDFLimit:
			*err = e
		case error:
			*err = fmt.Errorf("malformed PDF: %w", e)
		default:
			*err = fmt.Errorf("malformed PDF: %v", e)
		}
	}
}

// pdfSource serves the file to the parser and stops a parse that reads
// far more than the file could need, which is what a loop in the file's
// structure looks like from outside. It also lets a PDF 2.0 file through
// the parser's header check, which knows only 1.x: the file structure it
// reads did not change in 2.0.
type pdfSource struct {
	data   []byte
	read   int64
	budget int64
}

func (s *pdfSource) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("read at offset %d, before the file's start", off)
	}
	if off >= int64(len(s.data)) {
		return 0, io.EOF
	}
	n := copy(p, s.data[off:])
	s.read += int64(n)
	if s.read > s.budget {
		panic(errPDFLimit{what: "bytes read (a loop in the file's structure?)"})
	}
	if off < 8 && bytes.HasPrefix(s.data, []byte("%PDF-2.")) {
		hdr := []byte("%PDF-1.7")
		copy(p, hdr[off:])
	}
	var err error
	if n < len(p) {
		err = io.EOF
	}
	return n, err
}

// pdfPrecheck rejects, before parsing, what the parser cannot survive:
// input that is not a PDF, and sizes so large that the parser would
// allocate them whole (an object count, an xref field width, a row of a
// predictor) and take the process down with it.
func pdfPrecheck(raw []byte) string {
	if !bytes.HasPrefix(raw, []byte("%PDF-")) {
		return "not a PDF file (it does not start with %PDF-)"
	}
	limit := max(int64(pdfMaxObjects), int64(len(raw)))
	tooBig := func(what string, num []byte) string {
		return fmt.Sprintf("damaged PDF: its %s is %s, more than a %d-byte file can hold", what, num, len(raw))
	}
	for _, m := range pdfSizeRE.FindAllSubmatch(raw, -1) {
		if n, err := strconv.ParseInt(string(m[2]), 10, 64); err != nil || n > limit {
			return tooBig("/"+string(m[1]), m[2])
		}
	}
	for _, m := range pdfArrayRE.FindAllSubmatchIndex(raw, -1) {
		// The array's integers, up to its "]" or anything else (a /W of a
		// CID font nests arrays; its numbers are widths, small too).
		rest := raw[m[1]:]
		for {
			rest = bytes.TrimLeft(rest, " \t\r\n\f\x00")
			end := 0
			for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
				end++
			}
			if end == 0 {
				break
			}
			if n, err := strconv.ParseInt(string(rest[:end]), 10, 64); err != nil || n > limit {
				return tooBig("/"+string(raw[m[2]:m[3]])+" entry", rest[:end])
			}
			rest = rest[end:]
		}
	}
	if n, ok := xrefTableLimit(raw, limit); !ok {
		return tooBig("cross-reference table's object number", []byte(strconv.FormatInt(n, 10)))
	}
	return ""
}

var (
	// /Size and /N size the cross-reference table and object streams,
	// /Columns a predictor's row; /W and /Index arrays the entries of a
	// cross-reference stream.
	pdfSizeRE  = regexp.MustCompile(`/(Size|N|Columns)[\s\x00]*([0-9]{1,30})`)
	pdfArrayRE = regexp.MustCompile(`/(W|Index)[\s\x00]*\[`)
)

// xrefTableLimit walks every classic cross-reference table (a line
// "xref", then subsections of "first count" each followed by count entries
// of three tokens), as the parser reads them, and reports the first
// object number over limit.
func xrefTableLimit(raw []byte, limit int64) (int64, bool) {
	for off := 0; ; {
		i := bytes.Index(raw[off:], []byte("xref"))
		if i < 0 {
			return 0, true
		}
		at := off + i
		off = at + 4
		if at > 0 && raw[at-1] != '\n' && raw[at-1] != '\r' { // "startxref", or prose
			continue
		}
		tk := pdfTokenizer{b: raw[off:]}
		for {
			first, ok1 := tk.int()
			count, ok2 := tk.int()
			if !ok1 || !ok2 {
				break
			}
			if first > limit || count > limit || first+count > limit {
				return max(first, first+count), false
			}
			if !tk.skip(3 * count) {
				break
			}
		}
	}
}

// pdfTokenizer reads whitespace-separated tokens.
type pdfTokenizer struct{ b []byte }

func (t *pdfTokenizer) next() ([]byte, bool) {
	t.b = bytes.TrimLeft(t.b, " \t\r\n\f\x00")
	if len(t.b) == 0 {
		return nil, false
	}
	end := bytes.IndexAny(t.b, " \t\r\n\f\x00")
	if end < 0 {
		end = len(t.b)
	}
	tok := t.b[:end]
	t.b = t.b[end:]
	return tok, true
}

func (t *pdfTokenizer) int() (int64, bool) {
	tok, ok := t.next()
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(string(tok), 10, 64)
	return n, err == nil
}

func (t *pdfTokenizer) skip(n int64) bool {
	for ; n > 0; n-- {
		if _, ok := t.next(); !ok {
			return false
		}
	}
	return true
}

// pdfPage is a page dictionary with the resources it inherits.
type pdfPage struct {
	v, res pdf.Value
}

// pdfPageList walks the page tree itself, passing inherited resources
// down, rather than asking the parser for page n (which walks up /Parent
// links and down /Kids with no guard against a loop).
func pdfPageList(r *pdf.Reader) (out []pdfPage, err error) {
	defer recoverPDF(&err)
	root := r.Trailer().Key("Root").Key("Pages")
	if root.IsNull() {
		return nil, errors.New("no page tree (/Root /Pages is missing)")
	}
	var walk func(node, res pdf.Value, depth int) error
	walk = func(node, res pdf.Value, depth int) error {
		if depth > pdfMaxTreeDepth {
			return fmt.Errorf("page tree deeper than %d levels (a loop?)", pdfMaxTreeDepth)
		}
		if own := node.Key("Resources"); !own.IsNull() {
			res = own
		}
		kids := node.Key("Kids")
		if kids.Kind() != pdf.Array {
			if node.Kind() == pdf.Dict && node.Key("Type").Name() != "Pages" {
				if len(out) >= pdfMaxPages {
					return errPDFLimit{what: fmt.Sprintf("pages (%d)", pdfMaxPages)}
				}
				out = append(out, pdfPage{v: node, res: res})
			}
			return nil
		}
		for i := 0; i < kids.Len(); i++ {
			if err := walk(kids.Index(i), res, depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	return out, walk(root, pdf.Value{}, 0)
}

// textShare is the share of letters and digits among the visible
// characters: undecodable fonts come out as replacement characters,
// control codes and symbols.
func textShare(s string) float64 {
	good, all := 0, 0
	for _, r := range s {
		if unicode.IsSpace(r) {
			continue
		}
		all++
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			good++
		}
	}
	if all == 0 {
		return 0
	}
	return float64(good) / float64(all)
}
