package prompt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
)

// Builder renders one expanded variant for many cases. It is safe for
// concurrent use: everything it holds is read-only after NewBuilder.
type Builder struct {
	task    lab.Task
	v       lab.Variant
	tmpl    *template.Template
	answer  *regexp.Regexp
	pool    []lab.Example // demonstration pool (the train split)
	fixed   []lab.Example
	nearest *Index
}

// templateData is what a template sees.
type templateData struct {
	Input  string
	Task   string
	Labels string
	Meta   map[string]string
}

// NewBuilder prepares variant v (already expanded) for task, drawing
// demonstrations from train.
func NewBuilder(task lab.Task, v lab.Variant, train []lab.Example) (*Builder, error) {
	b := &Builder{task: task, v: v, pool: train}
	t, err := template.New(v.Name).Option("missingkey=error").Parse(v.Template)
	if err != nil {
		return nil, fmt.Errorf("prompt %q: template: %w", v.Name, err)
	}
	b.tmpl = t
	if v.AnswerPattern != "" {
		re, err := regexp.Compile(v.AnswerPattern)
		if err != nil {
			return nil, fmt.Errorf("prompt %q: answer_pattern: %w", v.Name, err)
		}
		b.answer = re
	}
	if fs := v.FewShot; fs != nil {
		if len(train) == 0 {
			return nil, fmt.Errorf("prompt %q: few-shot needs examples, but the train split is empty: add data.train", v.Name)
		}
		switch fs.Select {
		case lab.SelectFixed:
			fixed, err := pickFixed(train, fs)
			if err != nil {
				return nil, fmt.Errorf("prompt %q: %w", v.Name, err)
			}
			b.fixed = fixed
		case lab.SelectNearest:
			docs := make([]string, len(train))
			for i, ex := range train {
				docs[i] = ex.Input
			}
			b.nearest = NewIndex(docs)
		case lab.SelectRandom:
		default:
			return nil, fmt.Errorf("prompt %q: unknown few-shot selection %q", v.Name, fs.Select)
		}
	}
	return b, nil
}

// Variant returns the expanded variant the builder renders.
func (b *Builder) Variant() lab.Variant { return b.v }

// Messages renders the chat for one case. Instructions lead the first user
// turn so that demonstrations read as examples of the instructed task.
func (b *Builder) Messages(ex lab.Example) ([]provider.Message, error) {
	return b.MessagesWith(ex, nil)
}

// Passage is a retrieved knowledge chunk shown to the model under its id.
type Passage struct {
	ID      string
	Heading string
	Text    string
}

// ContextIntro opens the retrieved passages in a user turn. It asks for
// citations by id so a reader of the answer can check it against the
// passages it claims to use.
const ContextIntro = "Answer from these passages of the knowledge base. Cite the id of each passage you use in square brackets, like [%s]."

// MessagesWith renders the chat for one case with retrieved passages in
// its user turn, after the instructions and before the input, where the
// model reads them just before the question. Demonstrations get none:
// passages retrieved for the case would not match them.
func (b *Builder) MessagesWith(ex lab.Example, passages []Passage) ([]provider.Message, error) {
	var msgs []provider.Message
	if b.v.System != "" {
		msgs = append(msgs, provider.Message{Role: "system", Content: b.v.System})
	}
	demos := b.Demonstrations(ex)
	first := true
	user := func(input string, meta map[string]string) (string, error) {
		body, err := b.render(input, meta)
		if err != nil {
			return "", err
		}
		if first {
			first = false
			if b.v.Instructions != "" {
				return b.v.Instructions + "\n\n" + body, nil
			}
		}
		return body, nil
	}
	for _, d := range demos {
		u, err := user(d.Input, d.Meta)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, provider.Message{Role: "user", Content: u}, provider.Message{Role: "assistant", Content: b.formatAnswer(d.Expected)})
	}
	var u string
	if len(passages) > 0 {
		body, err := b.render(ex.Input, ex.Meta)
		if err != nil {
			return nil, fmt.Errorf("case %s: %w", ex.ID, err)
		}
		var sb strings.Builder
		if first && b.v.Instructions != "" {
			sb.WriteString(b.v.Instructions + "\n\n")
		}
		sb.WriteString(renderPassages(passages))
		sb.WriteString(body)
		u = sb.String()
	} else {
		var err error
		if u, err = user(ex.Input, ex.Meta); err != nil {
			return nil, fmt.Errorf("case %s: %w", ex.ID, err)
		}
	}
	return append(msgs, provider.Message{Role: "user", Content: u}), nil
}

// renderPassages writes each passage as "[id] heading" then its text, the
// block ending in a blank line.
func renderPassages(ps []Passage) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, ContextIntro+"\n\n", ps[0].ID)
	for _, p := range ps {
		sb.WriteString("[" + p.ID + "]")
		if p.Heading != "" {
			sb.WriteString(" " + p.Heading)
		}
		sb.WriteString("\n" + strings.TrimSpace(p.Text) + "\n\n")
	}
	return sb.String()
}

func (b *Builder) render(input string, meta map[string]string) (string, error) {
	var buf bytes.Buffer
	err := b.tmpl.Execute(&buf, templateData{Input: input, Task: b.task.Description, Labels: strings.Join(b.task.Labels, ", "), Meta: meta})
	if err != nil {
		return "", fmt.Errorf("prompt %q: template: %w", b.v.Name, err)
	}
	return buf.String(), nil
}

// Answer is how a model answering this prompt should write expected: the
// target a fine-tuned model learns, and the demonstrations' answers.
func (b *Builder) Answer(expected string) string { return b.formatAnswer(expected) }

// formatAnswer writes a demonstration's answer the way the model is asked
// to answer, so demonstrations teach the format too.
func (b *Builder) formatAnswer(expected string) string {
	switch {
	case len(b.v.JSONSchema) > 0 && b.v.AnswerField != "":
		out, _ := json.Marshal(map[string]string{b.v.AnswerField: expected}) // strings always marshal
		return string(out)
	case b.v.ChainOfThought:
		return "Answer: " + expected
	}
	return expected
}

// Demonstrations picks the few-shot examples for a case.
func (b *Builder) Demonstrations(ex lab.Example) []lab.Example {
	fs := b.v.FewShot
	if fs == nil {
		return nil
	}
	switch fs.Select {
	case lab.SelectFixed:
		return b.fixed
	case lab.SelectRandom:
		// Seeded by the case so a rerun shows the model the same prompt.
		h := fnv.New64a()
		h.Write([]byte(ex.ID))
		r := rand.New(rand.NewPCG(uint64(fs.Seed), h.Sum64()))
		idx := r.Perm(len(b.pool))
		var out []lab.Example
		for _, i := range idx {
			if len(out) == fs.K {
				break
			}
			if b.pool[i].ID != ex.ID {
				out = append(out, b.pool[i])
			}
		}
		return out
	case lab.SelectNearest:
		var out []lab.Example
		for _, hit := range b.nearest.Search(ex.Input, fs.K+1) {
			if len(out) == fs.K {
				break
			}
			if d := b.pool[hit.Doc]; d.ID != ex.ID {
				out = append(out, d)
			}
		}
		// Most similar last, nearest the question, where it helps most.
		for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
			out[i], out[j] = out[j], out[i]
		}
		return out
	}
	return nil
}

// pickFixed returns the named examples, or k examples spread over labels.
func pickFixed(train []lab.Example, fs *lab.FewShot) ([]lab.Example, error) {
	if len(fs.IDs) > 0 {
		byID := make(map[string]lab.Example, len(train))
		for _, ex := range train {
			byID[ex.ID] = ex
		}
		out := make([]lab.Example, 0, len(fs.IDs))
		for _, id := range fs.IDs {
			ex, ok := byID[id]
			if !ok {
				return nil, fmt.Errorf("few_shot.ids: no train example with id %q", id)
			}
			out = append(out, ex)
		}
		return out, nil
	}
	// Round-robin over labels in sorted order, first examples of each, so
	// the fixed set covers as many labels as k allows.
	groups := map[string][]lab.Example{}
	var labels []string
	for _, ex := range train {
		if _, ok := groups[ex.Expected]; !ok {
			labels = append(labels, ex.Expected)
		}
		groups[ex.Expected] = append(groups[ex.Expected], ex)
	}
	sort.Strings(labels)
	var out []lab.Example
	for round := 0; len(out) < fs.K; round++ {
		added := false
		for _, l := range labels {
			if len(out) == fs.K {
				break
			}
			if round < len(groups[l]) {
				out = append(out, groups[l][round])
				added = true
			}
		}
		if !added {
			break
		}
	}
	return out, nil
}

// Extract turns a model's reply into the answer the scorers judge.
func (b *Builder) Extract(output string) string {
	out := strings.TrimSpace(output)
	if b.answer != nil {
		if ms := b.answer.FindAllStringSubmatch(out, -1); len(ms) > 0 {
			out = strings.TrimSpace(ms[len(ms)-1][1])
		} else if lines := nonEmptyLines(out); len(lines) > 0 {
			out = lines[len(lines)-1]
		}
	}
	if len(b.v.JSONSchema) > 0 && b.v.AnswerField != "" {
		if v, ok := jsonField(out, b.v.AnswerField); ok {
			return v
		}
	}
	return out
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// jsonField reads a top-level or dotted field from a JSON object, tolerating
// a Markdown code fence around it, which chat models often add.
func jsonField(s, field string) (string, bool) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "```json")
	s = strings.TrimPrefix(s, "```")
	s = strings.TrimSuffix(strings.TrimSpace(s), "```")
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return "", false
	}
	for _, part := range strings.Split(field, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		v = m[part]
	}
	switch x := v.(type) {
	case string:
		return x, true
	case nil:
		return "", false
	default:
		b, _ := json.Marshal(x)
		return string(b), true
	}
}
