package retrieval

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/ledongthuc/pdf"
)

// mustLex stops the page when the parser's lexer would never finish strm:
// it reads a hex string ("<4A6F>") until its ">", and at the end of a
// stream it reads spaces forever, so a stream cut off inside a hex string
// (a wrong /Length, a truncated file) would hang it. strm is read once
// here, whole (an array of streams is one stream), and scanned the way the
// lexer would.
func mustLex(strm pdf.Value, what string) {
	parts := []pdf.Value{strm}
	if strm.Kind() == pdf.Array {
		parts = parts[:0]
		for i := 0; i < strm.Len(); i++ {
			parts = append(parts, strm.Index(i))
		}
	}
	var sc hexScanner
	for _, p := range parts {
		rc := p.Reader()
		buf := make([]byte, 32<<10)
		for {
			n, err := rc.Read(buf)
			sc.scan(buf[:n])
			if err != nil {
				break
			}
		}
		rc.Close()
	}
	if sc.inHex {
		panic(fmt.Errorf("%s ends inside a hex string (cut off?)", what))
	}
}

// hexScanner follows literal strings, comments and hex strings across
// chunks of a stream, to tell whether it ends inside a hex string. Like
// the lexer, it ends a hex string at any character that is neither a hex
// digit nor a space.
type hexScanner struct {
	inHex, inComment, escape, lt bool
	depth                        int // of a literal string's parentheses
}

func (s *hexScanner) scan(b []byte) {
	for _, c := range b {
		lt := s.lt
		s.lt = false
		switch {
		case s.depth > 0:
			switch {
			case s.escape:
				s.escape = false
			case c == '\\':
				s.escape = true
			case c == '(':
				s.depth++
			case c == ')':
				s.depth--
			}
		case s.inComment:
			s.inComment = c != '\r' && c != '\n'
		case s.inHex:
			if c == '<' && lt {
				s.inHex = false // "<<", a dictionary
			} else if c == '>' || !(isHexDigit(c) || isPDFSpace(c)) {
				s.inHex = false
			}
		case c == '%':
			s.inComment = true
		case c == '(':
			s.depth = 1
		case c == '<':
			s.inHex, s.lt = true, true
		}
	}
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isPDFSpace(c byte) bool {
	switch c {
	case 0, '\t', '\n', '\f', '\r', ' ':
		return true
	}
	return false
}

// layout joins a page's pieces in the order the page draws them, which is
// the reading order of nearly every generated PDF: a piece on the same
// baseline continues the line (with a space where there is a gap), a drop
// of about one line starts a new line, and a drop clearly larger than the
// document's usual line spacing (usual, in ems), a jump back up (a new
// column) or a jump far down starts a paragraph. Distances are measured in
// ems of the larger of the two pieces' fonts, so a heading's bigger
// spacing reads the same as body text's.
func layout(ps []piece, usual float64) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			prev := ps[i-1]
			em := math.Max(p.size, prev.size)
			dy := (prev.y - p.y) / em
			switch {
			case math.Abs(dy) < pdfSameLine:
				gap := (p.x - prev.endX) / em
				if (gap > pdfGapSpace || gap < -1) && !strings.HasSuffix(b.String(), " ") && !strings.HasPrefix(p.text, " ") {
					b.WriteByte(' ')
				}
			case dy < 0 || dy > pdfFarJump || (usual > 0 && dy > pdfParaFactor*usual):
				b.WriteString("\n\n")
			default:
				b.WriteByte('\n')
			}
		}
		b.WriteString(p.text)
	}
	return tidyPage(b.String())
}

// usualLineGap is the document's line spacing in ems: the lower quartile
// of the drops from one line to the next, since most drops are between
// lines of a paragraph (and in a text of one-line paragraphs the quartile
// still comes from the tighter ones). It is taken over the whole document
// because one page may hold too few lines to tell.
func usualLineGap(pages [][]piece) float64 {
	var gaps []float64
	for _, ps := range pages {
		for i := 1; i < len(ps); i++ {
			em := math.Max(ps[i].size, ps[i-1].size)
			if dy := (ps[i-1].y - ps[i].y) / em; dy >= pdfSameLine && dy <= pdfFarJump {
				gaps = append(gaps, dy)
			}
		}
	}
	if len(gaps) == 0 {
		return 0
	}
	sort.Float64s(gaps)
	return gaps[len(gaps)/4]
}

// tidyPage collapses runs of spaces, trims lines and keeps at most one
// blank line between paragraphs.
func tidyPage(s string) string {
	return collapseBlankLines(s, func(l string) string { return strings.Join(strings.Fields(l), " ") })
}
