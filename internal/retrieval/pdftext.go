package retrieval

import (
	"fmt"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
)

// The parser's own text extraction runs words and lines together (it keeps
// no positions), so pages are read here: each piece of text is placed where
// the page draws it, and lines and paragraphs are rebuilt from those
// places. Only what that needs of the PDF text model is kept.

// matrix is a PDF transformation [a b c d e f], standing for
// [[a b 0] [c d 0] [e f 1]].
type matrix [6]float64

var identity = matrix{1, 0, 0, 1, 0, 0}

// mul returns m × n.
func (m matrix) mul(n matrix) matrix {
	return matrix{
		m[0]*n[0] + m[1]*n[2], m[0]*n[1] + m[1]*n[3],
		m[2]*n[0] + m[3]*n[2], m[2]*n[1] + m[3]*n[3],
		m[4]*n[0] + m[5]*n[2] + n[4], m[4]*n[1] + m[5]*n[3] + n[5],
	}
}

func translate(x, y float64) matrix { return matrix{1, 0, 0, 1, x, y} }

// gstate is the part of the graphics state text placement depends on;
// q and Q save and restore it (the text matrices are not part of it).
type gstate struct {
	ctm                        matrix
	font                       *pdfFont
	size, leading, scale       float64
	charSpace, wordSpace, rise float64
}

// pdfFont is a font's decoder and glyph widths (in thousandths of an em).
type pdfFont struct {
	enc     pdf.TextEncoding
	twoByte bool // a Type0 (CID) font: two-byte codes
	first   int
	widths  []float64
	cid     map[int]float64
	dw      float64
}

func (f *pdfFont) width(code int) (float64, bool) {
	if f.twoByte {
		if w, ok := f.cid[code]; ok {
			return w, true
		}
		return f.dw, true
	}
	if i := code - f.first; i >= 0 && i < len(f.widths) {
		return f.widths[i], true
	}
	return 0, false
}

// piece is a run of text as drawn: its baseline start, where it ends, and
// the font size, all in page space.
type piece struct {
	text       string
	x, y, endX float64
	size       float64
}

// pdfExtraction reads the pages of one file, keeping its budgets.
type pdfExtraction struct {
	ops, text int
}

// page returns the pieces of text one page draws, in drawing order.
func (ex *pdfExtraction) page(pg pdfPage) (pieces []piece, err error) {
	defer recoverPDF(&err)
	contents := pg.v.Key("Contents")
	if contents.IsNull() {
		return nil, nil
	}
	in := &interp{ex: ex, g: gstate{ctm: identity, scale: 1}, fonts: map[string]*pdfFont{}}
	in.run(contents, pg.res, 0)
	return in.pieces, nil
}

// interp interprets one page's content stream and the forms it draws.
type interp struct {
	ex       *pdfExtraction
	g        gstate
	stack    []gstate
	tm, tlm  matrix
	fonts    map[string]*pdfFont
	fontsRes pdf.Value
	pieces   []piece
}

func (in *interp) run(strm, res pdf.Value, depth int) {
	mustLex(strm, "content stream")
	fonts, fontsRes := in.fonts, in.fontsRes
	in.fonts, in.fontsRes = map[string]*pdfFont{}, res
	defer func() { in.fonts, in.fontsRes = fonts, fontsRes }()
	pdf.Interpret(strm, func(stk *pdf.Stack, op string) {
		in.ex.ops++
		if in.ex.ops > pdfMaxOps {
			panic(errPDFLimit{what: fmt.Sprintf("content operators (%d)", pdfMaxOps)})
		}
		args := make([]pdf.Value, stk.Len())
		for i := len(args) - 1; i >= 0; i-- {
			args[i] = stk.Pop()
		}
		in.op(op, args, res, depth)
	})
}

func num(args []pdf.Value, i int) float64 {
	if i < len(args) {
		return args[i].Float64()
	}
	return 0
}

func matrixArg(args []pdf.Value) (matrix, bool) {
	if len(args) != 6 {
		return matrix{}, false
	}
	var m matrix
	for i := range m {
		m[i] = args[i].Float64()
	}
	return m, true
}

func (in *interp) op(op string, args []pdf.Value, res pdf.Value, depth int) {
	g := &in.g
	switch op {
	case "q":
		if len(in.stack) < pdfStackLimit {
			in.stack = append(in.stack, in.g)
		}
	case "Q":
		if n := len(in.stack); n > 0 {
			in.g, in.stack = in.stack[n-1], in.stack[:n-1]
		}
	case "cm":
		if m, ok := matrixArg(args); ok {
			g.ctm = m.mul(g.ctm)
		}
	case "BT":
		in.tm, in.tlm = identity, identity
	case "Tf":
		if len(args) == 2 {
			g.font = in.font(args[0].Name())
			g.size = args[1].Float64()
		}
	case "Tc":
		g.charSpace = num(args, 0)
	case "Tw":
		g.wordSpace = num(args, 0)
	case "Tz":
		g.scale = num(args, 0) / 100
	case "TL":
		g.leading = num(args, 0)
	case "Ts":
		g.rise = num(args, 0)
	case "Td":
		in.nextLine(num(args, 0), num(args, 1))
	case "TD":
		g.leading = -num(args, 1)
		in.nextLine(num(args, 0), num(args, 1))
	case "T*":
		in.nextLine(0, -g.leading)
	case "Tm":
		if m, ok := matrixArg(args); ok {
			in.tm, in.tlm = m, m
		}
	case "Tj":
		if len(args) == 1 {
			in.show(args[0].RawString())
		}
	case "'":
		if len(args) == 1 {
			in.nextLine(0, -g.leading)
			in.show(args[0].RawString())
		}
	case "\"":
		if len(args) == 3 {
			g.wordSpace, g.charSpace = args[0].Float64(), args[1].Float64()
			in.nextLine(0, -g.leading)
			in.show(args[2].RawString())
		}
	case "TJ":
		if len(args) != 1 {
			return
		}
		a := args[0]
		for i := 0; i < a.Len(); i++ {
			v := a.Index(i)
			if v.Kind() == pdf.String {
				in.show(v.RawString())
			} else {
				in.tm = translate(-v.Float64()/1000*g.size*g.scale, 0).mul(in.tm)
			}
		}
	case "Do":
		if len(args) == 1 {
			in.form(args[0].Name(), res, depth)
		}
	}
}

func (in *interp) nextLine(tx, ty float64) {
	in.tlm = translate(tx, ty).mul(in.tlm)
	in.tm = in.tlm
}

// form draws a form XObject: text in forms (headers, whole pages in some
// exporters) is text of the page.
func (in *interp) form(name string, res pdf.Value, depth int) {
	x := res.Key("XObject").Key(name)
	if x.Kind() != pdf.Stream || x.Key("Subtype").Name() != "Form" || depth >= pdfMaxFormDepth {
		return
	}
	saved, tm, tlm := in.g, in.tm, in.tlm
	defer func() { in.g, in.tm, in.tlm = saved, tm, tlm }()
	if m, ok := matrixArg(arrayValues(x.Key("Matrix"))); ok {
		in.g.ctm = m.mul(in.g.ctm)
	}
	formRes := x.Key("Resources")
	if formRes.IsNull() {
		formRes = res
	}
	in.run(x, formRes, depth+1)
}

func arrayValues(a pdf.Value) []pdf.Value {
	out := make([]pdf.Value, 0, min(a.Len(), 16))
	for i := 0; i < a.Len() && i < 16; i++ {
		out = append(out, a.Index(i))
	}
	return out
}

// font loads a font of the current resources once per content stream.
func (in *interp) font(name string) *pdfFont {
	if f, ok := in.fonts[name]; ok {
		return f
	}
	v := in.fontsRes.Key("Font").Key(name)
	if cmap := v.Key("ToUnicode"); !cmap.IsNull() {
		mustLex(cmap, "font "+name+"'s Unicode map")
	}
	pf := &pdf.Font{V: v}
	f := &pdfFont{enc: pf.Encoder(), twoByte: v.Key("Subtype").Name() == "Type0", dw: pdfDefaultWidth}
	if f.twoByte {
		desc := v.Key("DescendantFonts").Index(0)
		if dw := desc.Key("DW"); !dw.IsNull() {
			f.dw = dw.Float64()
		}
		f.cid = cidWidths(desc.Key("W"))
	} else {
		f.first = int(v.Key("FirstChar").Int64())
		ws := v.Key("Widths")
		for i := 0; i < ws.Len() && i < pdfMaxWidths; i++ {
			f.widths = append(f.widths, ws.Index(i).Float64())
		}
	}
	in.fonts[name] = f
	return f
}

// cidWidths reads a CID font's /W array: "c [w1 w2 ...]" gives widths from
// code c on, "c1 c2 w" one width for a range.
func cidWidths(w pdf.Value) map[int]float64 {
	out := map[int]float64{}
	for i := 0; i < w.Len() && len(out) < pdfMaxWidths; {
		c := int(w.Index(i).Int64())
		next := w.Index(i + 1)
		if next.Kind() == pdf.Array {
			for j := 0; j < next.Len() && len(out) < pdfMaxWidths; j++ {
				out[c+j] = next.Index(j).Float64()
			}
			i += 2
			continue
		}
		last, width := int(next.Int64()), w.Index(i+2).Float64()
		for code := c; code <= last && len(out) < pdfMaxWidths; code++ {
			out[code] = width
		}
		i += 3
	}
	return out
}

// show places one string: where it starts, where it ends (by the font's
// widths, or a guess when it has none), and its text.
func (in *interp) show(raw string) {
	g := &in.g
	f := g.font
	var text string
	if f != nil && f.enc != nil {
		text = f.enc.Decode(raw)
	} else {
		text = raw
	}
	trm := func() matrix {
		return matrix{g.size * g.scale, 0, 0, g.size, 0, g.rise}.mul(in.tm).mul(g.ctm)
	}
	start := trm()
	step := 1
	if f != nil && f.twoByte {
		step = 2
	}
	tx := 0.0
	for i := 0; i+step <= len(raw); i += step {
		code := int(raw[i])
		if step == 2 {
			code = code<<8 | int(raw[i+1])
		}
		w, ok := 0.0, false
		if f != nil {
			w, ok = f.width(code)
		}
		if !ok {
			w = pdfGlyphGuess * 1000
		}
		adv := w/1000*g.size + g.charSpace
		if step == 1 && code == ' ' {
			adv += g.wordSpace
		}
		tx += adv * g.scale
	}
	in.tm = translate(tx, 0).mul(in.tm)
	end := trm()
	text = cleanPDFText(text)
	if text == "" {
		return
	}
	in.ex.text += len(text)
	if in.ex.text > pdfMaxText {
		panic(errPDFLimit{what: fmt.Sprintf("text (%d MiB)", pdfMaxText>>20)})
	}
	in.pieces = append(in.pieces, piece{
		text: text, x: start[4], y: start[5], endX: end[4],
		size: math.Max(math.Hypot(start[2], start[3]), 1e-3),
	})
}

// cleanPDFText makes decoded text valid UTF-8 with no control characters
// (fonts without a Unicode map decode to raw codes).
func cleanPDFText(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case unicode.IsControl(r):
			return -1
		}
		return r
	}, s)
}
