package engine

import (
	"strings"
	"testing"
)

func TestTextOut(t *testing.T) {
	cases := []struct {
		name    string
		stops   []string
		tokens  []string
		want    string
		stopped bool
		// pieces is what a streaming caller sees, joined by |.
		pieces string
	}{
		{"plain", nil, []string{"a", "b", "c"}, "abc", false, "a|b|c"},
		{"stop inside a token", []string{"X"}, []string{"ab", "cXd"}, "abc", true, "ab|c"},
		{"stop across tokens is held back", []string{"END"}, []string{"ok E", "N", "D more"}, "ok ", true, "ok "},
		{"false start is released", []string{"END"}, []string{"ok E", "N", "o"}, "ok ENo", false, "ok |ENo"},
		{"earliest stop wins", []string{"c", "b"}, []string{"abc"}, "a", true, "a"},
		{"split UTF-8 character", nil, []string{"caf", "\xc3", "\xa9!"}, "café!", false, "caf|é!"},
		{"four-byte character in pieces", nil, []string{"\xf0\x9f", "\x98", "\x80"}, "😀", false, "😀"},
		{"stray byte becomes a replacement", nil, []string{"a\xff", "b"}, "a\uFFFDb", false, "a\uFFFD|b"},
		{"unfinished character at the end", nil, []string{"x\xe2\x82"}, "x\uFFFD", false, "x|\uFFFD"},
		{"empty stop ignored", []string{""}, []string{"ab"}, "ab", false, "ab"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var pieces []string
			o := newTextOut(tc.stops, func(s string) { pieces = append(pieces, s) })
			stopped := false
			for _, tok := range tc.tokens {
				if o.add([]byte(tok)) {
					stopped = true
					break
				}
			}
			got := o.finish()
			if got != tc.want || stopped != tc.stopped {
				t.Errorf("text %q stopped %v, want %q %v", got, stopped, tc.want, tc.stopped)
			}
			if p := strings.Join(pieces, "|"); p != tc.pieces {
				t.Errorf("pieces %q, want %q", p, tc.pieces)
			}
		})
	}
}
