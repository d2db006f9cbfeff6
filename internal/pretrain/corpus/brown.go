package corpus

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
)

// The Brown texts are the members named c<genre letter><two digits>; the
// package also ships README, CONTENTS, cats.txt and a pickle, which are not
// corpus text.
var brownMember = regexp.MustCompile(`^package/(c[a-r][0-9]{2})$`)

// brownGenres names the genre each member's letter stands for (a-r; the
// corpus has no i, o or q), as the corpus manual lists them.
var brownGenres = [...]string{
	'a' - 'a': "press reportage", 'b' - 'a': "press editorial", 'c' - 'a': "press reviews", 'd' - 'a': "religion",
	'e' - 'a': "skill and hobbies", 'f' - 'a': "popular lore", 'g' - 'a': "belles-lettres",
	'h' - 'a': "government documents", 'j' - 'a': "learned", 'k' - 'a': "general fiction",
	'l' - 'a': "mystery fiction", 'm' - 'a': "science fiction", 'n' - 'a': "adventure fiction",
	'p' - 'a': "romance", 'r' - 'a': "humor",
}

func parseBrown(tb *tarball) ([]Doc, error) {
	var docs []Doc
	err := tb.each(func(member string, r io.Reader) error {
		m := brownMember.FindStringSubmatch(member)
		if m == nil {
			return nil
		}
		paras, err := brownParagraphs(r)
		if err != nil {
			return fmt.Errorf("corpus: %s: member %s: %w", tb.path, member, err)
		}
		if len(paras) == 0 {
			return fmt.Errorf("corpus: %s: member %s: no text", tb.path, member)
		}
		cats := make([]string, len(paras))
		for i := range cats {
			cats[i] = brownGenres[m[1][1]-'a']
		}
		docs = append(docs, Doc{ID: m[1], Text: strings.Join(paras, "\n"), Categories: cats})
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("corpus: %s: no Brown text members (package/ca01 ...) found", tb.path)
	}
	// Archive order is whatever the packer chose; ids give an order that
	// does not depend on it.
	sort.Slice(docs, func(i, j int) bool { return docs[i].ID < docs[j].ID })
	return docs, nil
}

// brownParagraphs reads one Brown file in its tagged form (sentences one
// per line as word/tag tokens, paragraphs separated by blank lines) and
// returns readable paragraphs. Headlines (every word tagged -hl) become
// paragraphs of their own so they do not run into the sentence after them.
func brownParagraphs(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var out []string
	var cur []piece // the paragraph being built
	var q quoteState
	flush := func() {
		if len(cur) > 0 {
			out = append(out, joinPieces(cur))
		}
		cur = cur[:0]
	}
	for n := 1; sc.Scan(); n++ {
		toks, err := brownTokens(sc.Text())
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if len(toks) == 0 {
			flush()
			q = quoteState{}
			continue
		}
		if isHeadline(toks) {
			flush()
			out = append(out, joinPieces(detokenize(toks, &quoteState{})))
			continue
		}
		cur = append(cur, detokenize(toks, &q)...)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	flush()
	return out, nil
}

type brownToken struct{ word, tag string }

// brownTokens splits a tagged line into tokens. The tag follows the last
// slash, because words such as 1-1/2 contain slashes themselves.
func brownTokens(line string) ([]brownToken, error) {
	fields := strings.Fields(line)
	toks := make([]brownToken, 0, len(fields))
	for _, f := range fields {
		i := strings.LastIndexByte(f, '/')
		if i <= 0 || i == len(f)-1 {
			return nil, fmt.Errorf("token %q is not word/tag", f)
		}
		t := brownToken{word: f[:i], tag: f[i+1:]}
		// This copy of the corpus doubles sentence-final ? ! ; : (tagged
		// "."), as in "?/. ?/."; the original has one.
		if t.tag == "." && t.word != "." && len(toks) > 0 && toks[len(toks)-1] == t {
			continue
		}
		// Inch marks are written into the word (10'') and then followed by
		// a stray closing-quote token that has no opening partner.
		if t.word == "''" && len(toks) > 0 && len(toks[len(toks)-1].word) > 2 && strings.HasSuffix(toks[len(toks)-1].word, "''") {
			continue
		}
		toks = append(toks, t)
	}
	return toks, nil
}

func isHeadline(toks []brownToken) bool {
	words := 0
	for _, t := range toks {
		if classify(t.word) != kindWord {
			continue
		}
		if !strings.Contains(t.tag, "-hl") {
			return false
		}
		words++
	}
	return words > 0
}

type tokenKind int

const (
	kindWord   tokenKind = iota
	kindCloser           // attaches to the previous piece: , . ) ''
	kindOpener           // attaches to the next piece: ( ``
	kindSingle           // ' used as a quotation mark, open or close
)

func classify(word string) tokenKind {
	switch word {
	case ",", ".", ";", ":", "?", "!", ")", "]", "''":
		return kindCloser
	case "(", "[", "``":
		return kindOpener
	case "'":
		return kindSingle
	}
	return kindWord
}

// piece is one output token and how it binds to its neighbours.
type piece struct {
	text                string
	glueLeft, glueRight bool
}

// quoteState tracks whether a single quotation mark is open. Brown writes
// both the opening and closing mark as the same ' token, so which one it is
// has to be inferred; the state lives for a paragraph because quotations
// run across sentence lines.
type quoteState struct{ open bool }

func detokenize(toks []brownToken, q *quoteState) []piece {
	out := make([]piece, 0, len(toks))
	for i, t := range toks {
		switch classify(t.word) {
		case kindCloser:
			// Brown ends a sentence after "Jr." or "Co." with its own period
			// token; printed text shows one period.
			if t.word == "." && len(out) > 0 && !out[len(out)-1].glueRight && strings.HasSuffix(out[len(out)-1].text, ".") {
				continue
			}
			text := t.word
			if text == "''" {
				text = `"`
			}
			out = append(out, piece{text: text, glueLeft: true})
		case kindOpener:
			text := t.word
			if text == "``" {
				text = `"`
			}
			out = append(out, piece{text: text, glueRight: true})
		case kindSingle:
			if q.opens(out, toks[i+1:]) {
				q.open = true
				out = append(out, piece{text: "'", glueRight: true})
			} else {
				q.open = false
				out = append(out, piece{text: "'", glueLeft: true})
			}
		default:
			out = append(out, piece{text: strings.ReplaceAll(t.word, "''", `"`)})
		}
	}
	return out
}

// opens decides whether a ' token opens a quotation. Position settles most
// cases (after an opening mark it opens, before punctuation it closes);
// between two words only the running state can tell.
func (q *quoteState) opens(before []piece, after []brownToken) bool {
	if len(before) == 0 || before[len(before)-1].glueRight {
		return true
	}
	if len(after) == 0 || classify(after[0].word) == kindCloser {
		return false
	}
	// Brown puts punctuation after a closing quote ('Met' again, 'why' --),
	// so a quote that follows punctuation and precedes a word opens, even
	// when an earlier quotation in the source was never closed.
	switch before[len(before)-1].text {
	case ",", ":", ";", ".", "?", "!", "--":
		return true
	}
	return !q.open
}

func joinPieces(ps []piece) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 && !p.glueLeft && !ps[i-1].glueRight {
			b.WriteByte(' ')
		}
		b.WriteString(p.text)
	}
	return b.String()
}
