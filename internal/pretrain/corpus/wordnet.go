package corpus

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// synsetsPerDoc groups synsets so a document is a few kilobytes, like a
// Brown text, rather than one line: tiny documents would make the held-out
// split and the tokenizer's document boundaries mostly noise.
const synsetsPerDoc = 50

// The data files in the order their documents are emitted, with the part of
// speech used in document ids.
var wordnetFiles = []struct{ member, pos string }{
	{"package/dict/data.noun", "noun"},
	{"package/dict/data.verb", "verb"},
	{"package/dict/data.adj", "adj"},
	{"package/dict/data.adv", "adv"},
}

func parseWordNet(tb *tarball) ([]Doc, error) {
	byMember := map[string][]Doc{}
	err := tb.each(func(member string, r io.Reader) error {
		for _, f := range wordnetFiles {
			if f.member != member {
				continue
			}
			docs, err := wordnetDocs(r, f.pos)
			if err != nil {
				return fmt.Errorf("corpus: %s: member %s: %w", tb.path, member, err)
			}
			byMember[member] = docs
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var docs []Doc
	for _, f := range wordnetFiles {
		d, ok := byMember[f.member]
		if !ok {
			return nil, fmt.Errorf("corpus: %s: member %s is missing", tb.path, f.member)
		}
		docs = append(docs, d...)
	}
	return docs, nil
}

// wordnetDocs renders every synset of one data file and groups them, in
// file order, synsetsPerDoc to a document.
func wordnetDocs(r io.Reader, pos string) ([]Doc, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	var docs []Doc
	var group, cats []string
	flush := func() {
		if len(group) == 0 {
			return
		}
		docs = append(docs, Doc{ID: fmt.Sprintf("%s-%04d", pos, len(docs)+1), Text: strings.Join(group, "\n"), Categories: cats})
		group, cats = group[:0], nil
	}
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		// The licence header: every such line starts with two spaces.
		if strings.HasPrefix(line, "  ") {
			continue
		}
		s, err := parseSynset(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		group = append(group, s.render())
		cats = append(cats, s.LexFile)
		if len(group) == synsetsPerDoc {
			flush()
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	flush()
	if len(docs) == 0 {
		return nil, fmt.Errorf("no synsets")
	}
	return docs, nil
}

// lexFiles are WordNet's lexicographer files by number (lexnames(5WN)).
var lexFiles = []string{
	"adj.all", "adj.pert", "adv.all", "noun.Tops", "noun.act", "noun.animal", "noun.artifact",
	"noun.attribute", "noun.body", "noun.cognition", "noun.communication", "noun.event", "noun.feeling",
	"noun.food", "noun.group", "noun.location", "noun.motive", "noun.object", "noun.person",
	"noun.phenomenon", "noun.plant", "noun.possession", "noun.process", "noun.quantity", "noun.relation",
	"noun.shape", "noun.state", "noun.substance", "noun.time", "verb.body", "verb.change", "verb.cognition",
	"verb.communication", "verb.competition", "verb.consumption", "verb.contact", "verb.creation",
	"verb.emotion", "verb.motion", "verb.perception", "verb.possession", "verb.social", "verb.stative",
	"verb.weather", "adj.ppl",
}

// synset is the part of a WordNet data line that reads as English.
type synset struct {
	Offset     string
	POS        string // n, v, a, s (adjective satellite) or r
	LexFile    string // the lexicographer file, a broad category: noun.animal
	Lemmas     []string
	Definition string
	Examples   []string
}

// parseSynset reads one line of a WordNet data file:
//
//	offset lex_filenum ss_type w_cnt {word lex_id} p_cnt {ptr} [frames] | gloss
//
// Walking the counted fields, rather than cutting at the first "|", checks
// the line's structure so a corrupt file fails loudly.
func parseSynset(line string) (synset, error) {
	head, gloss, ok := strings.Cut(line, " | ")
	if !ok {
		return synset{}, fmt.Errorf("no \" | \" before the gloss")
	}
	f := strings.Fields(head)
	if len(f) < 4 {
		return synset{}, fmt.Errorf("%d fields before the gloss, want at least 4", len(f))
	}
	s := synset{Offset: f[0], POS: f[2]}
	lex, err := strconv.Atoi(f[1])
	if err != nil || lex < 0 || lex >= len(lexFiles) {
		return synset{}, fmt.Errorf("field lex_filenum %q is not a lexicographer file number (00-%d)", f[1], len(lexFiles)-1)
	}
	s.LexFile = lexFiles[lex]
	if !strings.Contains("nvasr", s.POS) || len(s.POS) != 1 {
		return synset{}, fmt.Errorf("field ss_type %q is not one of n v a s r", s.POS)
	}
	wcnt, err := strconv.ParseUint(f[3], 16, 8)
	if err != nil || wcnt == 0 {
		return synset{}, fmt.Errorf("field w_cnt %q is not a positive hex count", f[3])
	}
	i := 4
	if len(f) < i+2*int(wcnt)+1 {
		return synset{}, fmt.Errorf("w_cnt is %d but the line has too few word fields", wcnt)
	}
	for k := 0; k < int(wcnt); k++ {
		s.Lemmas = append(s.Lemmas, cleanLemma(f[i]))
		i += 2
	}
	pcnt, err := strconv.Atoi(f[i])
	if err != nil {
		return synset{}, fmt.Errorf("field p_cnt %q is not a number", f[i])
	}
	i += 1 + 4*pcnt
	if i > len(f) {
		return synset{}, fmt.Errorf("p_cnt is %d but the line has too few pointer fields", pcnt)
	}
	if s.POS == "v" {
		if i >= len(f) {
			return synset{}, fmt.Errorf("verb synset has no f_cnt field")
		}
		fcnt, err := strconv.Atoi(f[i])
		if err != nil {
			return synset{}, fmt.Errorf("field f_cnt %q is not a number", f[i])
		}
		i += 1 + 3*fcnt
	}
	if i != len(f) {
		return synset{}, fmt.Errorf("%d fields before the gloss, counts say %d", len(f), i)
	}
	s.Definition, s.Examples = splitGloss(strings.TrimSpace(gloss))
	if s.Definition == "" {
		return synset{}, fmt.Errorf("empty gloss")
	}
	return s, nil
}

// cleanLemma turns a data-file word into text: underscores join the words
// of a collocation, and adjectives may carry a syntactic marker such as
// "(p)" that is not part of the word.
func cleanLemma(w string) string {
	for _, m := range []string{"(a)", "(p)", "(ip)"} {
		w = strings.TrimSuffix(w, m)
	}
	return strings.ReplaceAll(w, "_", " ")
}

// splitGloss separates the definition from the quoted examples that follow
// it after "; ". WordNet quotes nested phrases as `like this', which reads
// better with plain apostrophes.
func splitGloss(g string) (string, []string) {
	g = strings.ReplaceAll(g, "`", "'")
	def, rest, ok := strings.Cut(g, `; "`)
	if !ok {
		return g, nil
	}
	rest = `"` + rest
	// Split at semicolons outside quotes: examples themselves contain
	// semicolons, and some end in an unquoted attribution ("..."- Bible).
	var ex []string
	in := false
	start := 0
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case '"':
			in = !in
		case ';':
			if !in {
				ex = appendNonEmpty(ex, rest[start:i])
				start = i + 1
			}
		}
	}
	if in {
		// Unbalanced quotes: the boundaries are unknowable, keep it whole.
		return def, []string{rest}
	}
	ex = appendNonEmpty(ex, rest[start:])
	return def, ex
}

func appendNonEmpty(ex []string, e string) []string {
	if e = strings.TrimSpace(e); e != "" {
		ex = append(ex, e)
	}
	return ex
}

// render writes a synset as one line, lemmas then definition then
// examples: `bank: sloping land (...). "they pulled the canoe up"; "..."`.
func (s synset) render() string {
	var b strings.Builder
	b.WriteString(strings.Join(s.Lemmas, ", "))
	b.WriteString(": ")
	b.WriteString(s.Definition)
	if !strings.ContainsAny(s.Definition[len(s.Definition)-1:], `.?!"`) {
		b.WriteByte('.')
	}
	for i, e := range s.Examples {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteByte(' ')
		b.WriteString(e)
	}
	return b.String()
}
