package incontext

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
)

// Reading episodes teach the model to answer from retrieved passages. The
// passages are Brown paragraphs shown as a RAG prompt shows knowledge
// chunks; the question is one of the answer passage's sentences turned
// into a question about one of its spans (a number with its unit, an amount
// or a name), some of its words left out so that it matches the passage
// loosely, as a user's question matches the page that answers it. The span
// is specific to its text, so it cannot be guessed: only copying it from the
// right passage gets it right.

var readingTasks = []string{
	"Answer the question in a few words.",
	"Answer briefly, from the passages.",
	"Give a short answer to the question.",
	"Reply with the answer only, in a few words.",
}

// A number with an optional unit word after it, or an amount or share.
var (
	numberSpan = regexp.MustCompile(`(?:\$\d(?:[\d,]*\d)?(?:\.\d+)?|\d(?:[\d,]*\d)?(?:\.\d+)?%|\d(?:[\d,]*\d)?(?:\.\d+)?(?: [a-z]{3,12})?)`)
	nameSpan   = regexp.MustCompile(`[A-Z][a-z]+(?: [A-Z][a-z]+){0,2}`)
	sentenceRe = regexp.MustCompile(`[^.?!]+[.?!]`)
)

type question struct {
	text, answer string
}

// makeQuestion turns sentence s into a question about one of its spans,
// or reports that it has none worth asking about.
func (g *Generator) makeQuestion(s string) (question, bool) {
	r := g.rng
	s = strings.TrimSpace(s)
	words := strings.Fields(s)
	if len(words) < 6 || len(words) > 35 {
		return question{}, false
	}
	var spans [][]int
	wh := map[int]string{}
	for _, m := range numberSpan.FindAllStringIndex(s, -1) {
		span := s[m[0]:m[1]]
		unit := ""
		if i := strings.IndexByte(span, ' '); i > 0 {
			unit = span[i+1:]
		}
		switch {
		case strings.HasPrefix(span, "$"):
			wh[len(spans)] = "how much"
		case strings.HasSuffix(span, "%"):
			wh[len(spans)] = "what share"
		case unit != "":
			wh[len(spans)] = "how many " + unit
		default:
			wh[len(spans)] = "what number"
		}
		spans = append(spans, m)
	}
	numbers := len(spans)
	for _, m := range nameSpan.FindAllStringIndex(s, -1) {
		if m[0] == 0 {
			continue // the sentence's first word is capitalised anyway
		}
		wh[len(spans)] = "who or what"
		spans = append(spans, m)
	}
	if len(spans) == 0 {
		return question{}, false
	}
	// Numbers first: they are what help pages state and users ask about.
	k := r.IntN(len(spans))
	if numbers > 0 && r.IntN(4) > 0 {
		k = r.IntN(numbers)
	}
	m := spans[k]
	answer := s[m[0]:m[1]]
	before := dropWords(g, strings.Fields(s[:m[0]]))
	after := dropWords(g, strings.Fields(strings.TrimRight(s[m[1]:], ".?! ")))
	var q string
	if r.IntN(2) == 0 {
		// In place: "you can return items within how many days of delivery?"
		q = strings.Join(append(append(before, wh[k]), after...), " ") + "?"
	} else {
		// Fronted: "How many days: you can return items within of delivery?"
		q = strings.Join(append(append([]string{wh[k] + ":"}, before...), after...), " ") + "?"
	}
	return question{text: strings.ToUpper(q[:1]) + q[1:], answer: answer}, true
}

// dropWords leaves out about one word in six.
func dropWords(g *Generator, ws []string) []string {
	out := ws[:0:0]
	for _, w := range ws {
		if g.rng.IntN(6) > 0 {
			out = append(out, w)
		}
	}
	return out
}

// NextReading draws one reading episode: three passages (the answer's,
// one more from its text, one from another) in random order.
func (g *Generator) NextReading() (Episode, error) {
	r := g.rng
	if len(g.texts) < 2 {
		return Episode{}, fmt.Errorf("incontext: reading episodes need at least two Brown texts")
	}
	for range 1000 {
		ti := r.IntN(len(g.texts))
		paras := g.texts[ti].paras
		if len(paras) < 2 {
			continue
		}
		pi := r.IntN(len(paras))
		sents := sentenceRe.FindAllString(paras[pi], -1)
		if len(sents) == 0 {
			continue
		}
		q, ok := g.makeQuestion(sents[r.IntN(len(sents))])
		if !ok {
			continue
		}
		other := g.texts[(ti+1+r.IntN(len(g.texts)-1))%len(g.texts)]
		same := (pi + 1 + r.IntN(len(paras)-1)) % len(paras)
		ps := []prompt.Passage{
			{ID: fmt.Sprintf("%s.txt#%d", g.texts[ti].id, pi), Text: paras[pi]},
			{ID: fmt.Sprintf("%s.txt#%d", g.texts[ti].id, same), Text: paras[same]},
		}
		op := r.IntN(len(other.paras))
		ps = append(ps, prompt.Passage{ID: fmt.Sprintf("%s.txt#%d", other.id, op), Text: other.paras[op]})
		r.Shuffle(len(ps), func(i, j int) { ps[i], ps[j] = ps[j], ps[i] })
		task := lab.Task{Name: "reading", Description: readingTasks[r.IntN(len(readingTasks))], Output: lab.OutputText}
		v := prompt.Expand(lab.Variant{Name: "reading", Technique: lab.TechZeroShot}, task)
		b, err := prompt.NewBuilder(task, v, nil)
		if err != nil {
			return Episode{}, fmt.Errorf("incontext: %w", err)
		}
		msgs, err := b.MessagesWith(lab.Example{ID: "q", Input: q.text, Expected: q.answer}, ps)
		if err != nil {
			return Episode{}, fmt.Errorf("incontext: %w", err)
		}
		return Episode{Kind: "reading", Messages: msgs, Answer: b.Answer(q.answer), AnswerOnly: true}, nil
	}
	return Episode{}, fmt.Errorf("incontext: no sentence to ask about in 1000 tries")
}
