// Package reading is an attempt to teach the bundled base model to read its
// context (bench/reader runs it). At the scale tried so far (1,324
// examples, one epoch of full fine-tuning on 2 CPU cores) it does not work:
// the model learns the answers' format, not where to find them in the
// prompt; the README's "The bundled base model" has the figures. It
// generates fictional help centres (shops, pages in the example knowledge's
// Markdown style with the facts in bold, and customer questions that
// paraphrase each fact), retrieves for each question with the project's
// own BM25 index exactly as `tunelab eval` does for a `retrieval: true`
// prompt, renders that prompt with the project's prompt builder and chat
// template, and fine-tunes the model to answer with the bold span. No
// generated value may contain a fact of the example lab (Forbid), so the
// example's questions measure reading, not memory.
package reading

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/tunelab/tunelab/internal/eval/score"
)

// Page is one generated help page.
type Page struct {
	File string // file name in the shop's knowledge folder
	Text string // Markdown
}

// Question asks for one fact of a shop; Answer is the fact's bold span (or
// table cell), File the page that holds it.
type Question struct {
	ID     string
	Input  string
	Answer string
	File   string
}

// Shop is a fictional help centre.
type Shop struct {
	Name      string
	Pages     []Page
	Questions []Question
	// Values are every answerable value the pages hold (bold spans and
	// table cells), for leakage checks.
	Values []string
}

// Options shape the generated shops.
type Options struct {
	Seed uint64
	// Topics is how many pages each shop has (default 8, at most the
	// number of topics).
	Topics int
	// Forbid are facts no generated value may contain (compared as the
	// contains scorer compares: normalised words in order).
	Forbid []string
}

// Generate makes n shops; the same options always give the same shops.
// Shop i depends only on the seed and i, so shops from a larger n are a
// superset.
func Generate(n int, o Options) ([]Shop, error) {
	if o.Topics <= 0 {
		o.Topics = 8
	}
	o.Topics = min(o.Topics, len(topics))
	forbid := make([][]string, 0, len(o.Forbid))
	for _, f := range o.Forbid {
		if t := score.Tokens(f); len(t) > 0 {
			forbid = append(forbid, t)
		}
	}
	shops := make([]Shop, n)
	for i := range shops {
		g := &shopGen{r: rand.New(rand.NewPCG(o.Seed, uint64(i)+1)), forbid: forbid}
		s, err := g.shop(i, o.Topics)
		if err != nil {
			return nil, fmt.Errorf("shop %d: %w", i, err)
		}
		shops[i] = s
	}
	return shops, nil
}

type shopGen struct {
	r      *rand.Rand
	forbid [][]string
	rep    *strings.Replacer
}

func (g *shopGen) shop(idx, nTopics int) (Shop, error) {
	r := g.r
	name := shopFirst[r.IntN(len(shopFirst))] + " " + shopSecond[r.IntN(len(shopSecond))]
	slug := strings.ToLower(strings.ReplaceAll(name, " ", "-"))
	prods := map[string]bool{}
	var ps []string
	for len(ps) < 4 {
		p := prodFirst[r.IntN(len(prodFirst))] + " " + prodKind[r.IntN(len(prodKind))] + prodSuffix[r.IntN(len(prodSuffix))]
		if !prods[p] {
			prods[p] = true
			ps = append(ps, p)
		}
	}
	g.rep = strings.NewReplacer(
		"{Shop}", name, "{Domain}", slug+".example", "{Plan}", strings.Fields(name)[0]+" "+planSuffix[r.IntN(len(planSuffix))],
		"{Carrier}", carriers[r.IntN(len(carriers))], "{City}", cities[r.IntN(len(cities))],
		"{Category}", categories[r.IntN(len(categories))],
		"{P1}", ps[0], "{P2}", ps[1], "{P3}", ps[2], "{P4}", ps[3],
	)
	s := Shop{Name: name}
	for _, ti := range r.Perm(len(topics))[:nTopics] {
		if err := g.page(&s, topics[ti], idx); err != nil {
			return s, err
		}
	}
	return s, nil
}

// value draws a value that contains no forbidden fact.
func (g *shopGen) value(v gen) (string, error) {
	for range 200 {
		s := g.rep.Replace(v(g.r))
		if !g.forbidden(s) {
			return s, nil
		}
	}
	return "", fmt.Errorf("every value drawn contains a forbidden fact")
}

func (g *shopGen) forbidden(s string) bool {
	toks := score.Tokens(s)
	for _, f := range g.forbid {
		if containsSeq(toks, f) {
			return true
		}
	}
	return false
}

// containsSeq reports whether needle occurs in hay as consecutive words.
func containsSeq(hay, needle []string) bool {
	for i := 0; i+len(needle) <= len(hay); i++ {
		ok := true
		for j, w := range needle {
			if hay[i+j] != w {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

func (g *shopGen) page(s *Shop, t topic, idx int) error {
	r := g.r
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n%s\n", g.rep.Replace(t.titles[r.IntN(len(t.titles))]), wrap(g.rep.Replace(t.intro[r.IntN(len(t.intro))])))
	ask := func(qs []string, answer string) {
		q := g.rep.Replace(qs[r.IntN(len(qs))])
		s.Questions = append(s.Questions, Question{ID: fmt.Sprintf("s%04d-q%02d", idx, len(s.Questions)+1), Input: q, Answer: answer, File: t.file})
		s.Values = append(s.Values, answer)
	}
	secs := append([]section(nil), t.secs...)
	tableAt := -1
	if t.table != nil && r.IntN(2) == 0 {
		tableAt = r.IntN(len(secs) + 1)
	}
	for i := 0; i <= len(secs); i++ {
		if i == tableAt {
			if err := g.table(&b, t.table, ask); err != nil {
				return err
			}
		}
		if i == len(secs) {
			break
		}
		sec := secs[i]
		// Some facts are left out, so that pages differ in length and
		// the answer is not always in the same place.
		var lines []string
		for _, f := range sec.facts {
			if r.IntN(6) == 0 {
				continue
			}
			v, err := g.value(f.v)
			if err != nil {
				return err
			}
			text := strings.ReplaceAll(f.text, "{V}", v)
			var w string
			if f.w != nil {
				if w, err = g.value(f.w); err != nil {
					return err
				}
				text = strings.ReplaceAll(text, "{W}", w)
			}
			lines = append(lines, g.rep.Replace(text))
			ask(f.qs, v)
			if f.w != nil {
				ask(f.wqs, w)
			}
		}
		for _, fl := range sec.filler {
			if r.IntN(3) > 0 {
				at := r.IntN(len(lines) + 1)
				lines = append(lines[:at], append([]string{g.rep.Replace(fl)}, lines[at:]...)...)
			}
		}
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n", g.rep.Replace(sec.headings[r.IntN(len(sec.headings))]))
		if r.IntN(2) == 0 {
			for _, l := range lines {
				b.WriteString(wrapIndent("- "+l, "  "))
			}
		} else {
			b.WriteString(wrap(strings.Join(lines, " ")))
		}
	}
	s.Pages = append(s.Pages, Page{File: t.file, Text: b.String()})
	return nil
}

func (g *shopGen) table(b *strings.Builder, t *table, ask func([]string, string)) error {
	r := g.r
	fmt.Fprintf(b, "\n## %s\n\n| %s |", t.headings[r.IntN(len(t.headings))], t.first)
	for _, c := range t.cols {
		b.WriteString(" " + c.header + " |")
	}
	b.WriteString("\n|---|")
	for range t.cols {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, row := range t.rows {
		b.WriteString("| " + row + " |")
		for _, c := range t.cols {
			v, err := g.value(c.v)
			if err != nil {
				return err
			}
			b.WriteString(" " + v + " |")
			if r.IntN(2) == 0 {
				qs := make([]string, len(c.qs))
				for i, q := range c.qs {
					qs[i] = fmt.Sprintf(q, strings.ToLower(row))
				}
				ask(qs, v)
			}
		}
		b.WriteString("\n")
	}
	return nil
}

// wrap breaks text into lines of at most 80 columns, as the example's
// pages are written; a bold span may break across lines like theirs.
func wrap(text string) string { return wrapIndent(text, "") }

func wrapIndent(text, indent string) string {
	var b strings.Builder
	line := 0
	for i, w := range strings.Fields(text) {
		switch {
		case i == 0:
		case line+1+len(w) > 80:
			b.WriteString("\n" + indent)
			line = len(indent)
		default:
			b.WriteByte(' ')
			line++
		}
		b.WriteString(w)
		line += len(w)
	}
	b.WriteString("\n")
	return b.String()
}
