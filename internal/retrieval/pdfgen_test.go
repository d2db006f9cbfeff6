package retrieval

import (
	"bytes"
	"crypto/md5"
	"crypto/rc4"
	"fmt"
	"strings"
)

// The PDFs these tests read are written here, object by object, so every
// byte of a fixture is known: no PDF from elsewhere is committed.

// testPage is one page: its content stream, and what its resources name.
type testPage struct {
	content string
	// form, when set, is the content of a form XObject /X1 the page can
	// draw with "/X1 Do".
	form string
	// contentDict adds entries to the content stream's dictionary (a
	// /Filter no reader knows, to damage the page).
	contentDict string
}

// pdfOptions vary the file around the pages.
type pdfOptions struct {
	header string // default "%PDF-1.4"
	// encrypt encrypts the file with the standard security handler (RC4,
	// 128-bit, revision 3) under userPassword and ownerPassword: with an
	// empty user password any reader opens it, as with PDFs that only
	// restrict printing or copying.
	userPassword, ownerPassword string
	encrypt                     bool
	// cidFont makes /F2 a Type0 font with Identity-H encoding and no
	// ToUnicode map, whose codes no reader can turn into text, unless
	// cmap gives it one (a ToUnicode CMap program).
	cidFont bool
	cmap    string
}

// textLines is a page content stream drawing lines in 12-point Helvetica
// down from the top, 14 points apart; an empty line leaves a paragraph gap.
func textLines(lines ...string) string {
	var b strings.Builder
	b.WriteString("BT\n/F1 12 Tf\n72 720 Td\n")
	first := true
	gap := 0
	for _, l := range lines {
		if l == "" {
			gap += 10
			continue
		}
		if !first {
			fmt.Fprintf(&b, "0 -%d Td\n", 14+gap)
		}
		first, gap = false, 0
		fmt.Fprintf(&b, "(%s) Tj\n", pdfString(l))
	}
	b.WriteString("ET\n")
	return b.String()
}

// pdfString escapes a literal string's parentheses and backslashes.
func pdfString(s string) string {
	return strings.NewReplacer(`\`, `\\`, `(`, `\(`, `)`, `\)`).Replace(s)
}

// buildPDF writes a PDF with pages, a Helvetica font /F1 (WinAnsi), and a
// correct cross-reference table.
func buildPDF(pages []testPage, o pdfOptions) []byte {
	if o.header == "" {
		o.header = "%PDF-1.4"
	}
	// A stream's dict holds its entries other than /Length, unbracketed.
	type object struct {
		dict   string
		stream string
		isStrm bool
	}
	objs := []object{
		{dict: "<< /Type /Catalog /Pages 2 0 R >>"},
		{}, // the page tree, written once the pages have numbers
		{dict: "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"},
		{dict: "<< /Type /Font /Subtype /Type0 /BaseFont /Noto /Encoding /Identity-H /DescendantFonts [5 0 R] >>"},
		{dict: "<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Noto /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 600 >>"},
	}
	if o.cmap != "" {
		objs = append(objs, object{stream: o.cmap, isStrm: true})
		objs[3].dict = strings.Replace(objs[3].dict, "/Encoding", fmt.Sprintf("/ToUnicode %d 0 R /Encoding", len(objs)), 1)
	}
	var kids []string
	for _, p := range pages {
		fonts := "/F1 3 0 R"
		if o.cidFont {
			fonts += " /F2 4 0 R"
		}
		res := "<< /Font << " + fonts + " >>"
		if p.form != "" {
			objs = append(objs, object{dict: "/Type /XObject /Subtype /Form /BBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >>", stream: p.form, isStrm: true})
			res += fmt.Sprintf(" /XObject << /X1 %d 0 R >>", len(objs))
		}
		res += " >>"
		objs = append(objs, object{dict: p.contentDict, stream: p.content, isStrm: true})
		contents := len(objs)
		objs = append(objs, object{dict: fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources %s /Contents %d 0 R >>", res, contents)})
		kids = append(kids, fmt.Sprintf("%d 0 R", len(objs)))
	}
	objs[1].dict = fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages))

	id := []byte("0123456789abcdef")
	var key []byte
	var encrypt string
	if o.encrypt {
		var oEntry, uEntry []byte
		key, oEntry, uEntry = rc4Security(o.userPassword, o.ownerPassword, id, -4)
		objs = append(objs, object{dict: fmt.Sprintf("<< /Filter /Standard /V 2 /R 3 /Length 128 /P -4 /O <%x> /U <%x> >>", oEntry, uEntry)})
		encrypt = fmt.Sprintf(" /Encrypt %d 0 R", len(objs))
	}

	var b bytes.Buffer
	b.WriteString(o.header + "\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, obj := range objs {
		num := i + 1
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n", num)
		if !obj.isStrm {
			b.WriteString(obj.dict + "\nendobj\n")
			continue
		}
		data := []byte(obj.stream)
		if key != nil {
			data = rc4Object(key, num, data)
		}
		fmt.Fprintf(&b, "<< %s /Length %d >>\nstream\n", obj.dict, len(data))
		b.Write(data)
		b.WriteString("\nendstream\nendobj\n")
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /ID [<%x> <%x>]%s >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, id, id, encrypt, xref)
	return b.Bytes()
}

// pad is the standard security handler's password padding (PDF 32000-1,
// 7.6.3.3).
var pad = []byte{
	0x28, 0xBF, 0x4E, 0x5E, 0x4E, 0x75, 0x8A, 0x41, 0x64, 0x00, 0x4E, 0x56, 0xFF, 0xFA, 0x01, 0x08,
	0x2E, 0x2E, 0x00, 0xB6, 0xD0, 0x68, 0x3E, 0x80, 0x2F, 0x0C, 0xA9, 0xFE, 0x64, 0x53, 0x69, 0x7A,
}

func padded(pw string) []byte { return append([]byte(pw), pad...)[:32] }

func rc4XOR(key, data []byte) []byte {
	c, err := rc4.NewCipher(key)
	if err != nil {
		panic(err)
	}
	out := make([]byte, len(data))
	c.XORKeyStream(out, data)
	return out
}

// rc4Security derives revision 3's 128-bit file key and its O and U
// entries (algorithms 2, 3 and 5 of PDF 32000-1, 7.6.3).
func rc4Security(user, owner string, id []byte, p int32) (key, o, u []byte) {
	if owner == "" {
		owner = user
	}
	stretch := func(h []byte) []byte {
		for i := 0; i < 50; i++ {
			s := md5.Sum(h[:16])
			h = s[:]
		}
		return h[:16]
	}
	rounds := func(key, data []byte) []byte {
		data = rc4XOR(key, data)
		for i := 1; i <= 19; i++ {
			k := make([]byte, len(key))
			for j := range key {
				k[j] = key[j] ^ byte(i)
			}
			data = rc4XOR(k, data)
		}
		return data
	}
	ownerSum := md5.Sum(padded(owner))
	o = rounds(stretch(ownerSum[:]), padded(user))
	h := md5.New()
	h.Write(padded(user))
	h.Write(o)
	h.Write([]byte{byte(p), byte(p >> 8), byte(p >> 16), byte(p >> 24)})
	h.Write(id)
	key = stretch(h.Sum(nil))
	check := md5.Sum(append(append([]byte{}, pad...), id...))
	u = append(rounds(key, check[:]), make([]byte, 16)...)
	return key, o, u
}

// rc4Object encrypts one object's data with its own key (algorithm 1).
func rc4Object(key []byte, num int, data []byte) []byte {
	h := md5.New()
	h.Write(key)
	h.Write([]byte{byte(num), byte(num >> 8), byte(num >> 16), 0, 0})
	return rc4XOR(h.Sum(nil)[:min(len(key)+5, 16)], data)
}
