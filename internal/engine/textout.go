package engine

import (
	"bytes"
	"strings"
	"unicode/utf8"
)

// textOut assembles generated text. Tokens can end in the middle of a UTF-8
// character (byte-fallback tokens) or of a stop string, so it holds back
// such tails until the next token settles them: a streaming caller never
// sees half a character or the start of a stop string that then matches.
type textOut struct {
	stops  [][]byte
	onText func(string)
	buf    []byte
	sent   int             // bytes of buf already let out
	text   strings.Builder // what was let out, as valid UTF-8
}

func newTextOut(stops []string, onText func(string)) *textOut {
	o := &textOut{onText: onText}
	for _, s := range stops {
		if s != "" {
			o.stops = append(o.stops, []byte(s))
		}
	}
	return o
}

// add appends a token's text and reports whether a stop string appeared;
// the text is then cut just before it.
func (o *textOut) add(p []byte) bool {
	o.buf = append(o.buf, p...)
	// Text before o.sent was checked not to start a stop string, so a match
	// can only begin at or after it.
	cut := -1
	for _, s := range o.stops {
		if i := bytes.Index(o.buf[o.sent:], s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		o.buf = o.buf[:o.sent+cut]
		o.emit(len(o.buf))
		return true
	}
	end := len(o.buf) - o.heldBack()
	o.emit(end)
	return false
}

// heldBack is how many trailing bytes cannot be sent yet: the longest tail
// that begins a stop string, or an unfinished UTF-8 character.
func (o *textOut) heldBack() int {
	pending := o.buf[o.sent:]
	hold := 0
	for _, s := range o.stops {
		for n := min(len(s)-1, len(pending)); n > hold; n-- {
			if bytes.HasSuffix(pending, s[:n]) {
				hold = n
				break
			}
		}
	}
	// An unfinished character starts within the last 3 bytes.
	for n := 1; n <= 3 && n <= len(pending); n++ {
		b := pending[len(pending)-n]
		if utf8.RuneStart(b) {
			if !utf8.FullRune(pending[len(pending)-n:]) {
				hold = max(hold, n)
			}
			break
		}
	}
	return hold
}

func (o *textOut) emit(end int) {
	if end <= o.sent {
		return
	}
	// Bytes that never form a character (a model can emit any byte) are
	// replaced, so callers always get valid UTF-8, and the streamed pieces
	// add up to exactly the final text.
	piece := strings.ToValidUTF8(string(o.buf[o.sent:end]), "\uFFFD")
	o.sent = end
	o.text.WriteString(piece)
	if o.onText != nil {
		o.onText(piece)
	}
}

// finish lets out what was held back and returns the whole text.
func (o *textOut) finish() string {
	o.emit(len(o.buf))
	return o.text.String()
}
