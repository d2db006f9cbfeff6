package optimize

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
)

var testLabels = []string{"alpha", "beta", "gamma", "delta"}

var testTask = lab.Task{
	Name:        "toy-routing",
	Description: "Route each ticket to its queue.",
	Output:      lab.OutputLabel,
	Labels:      testLabels,
}

// labelModel stands in for the model being optimised. It knows every
// case's true label and answers it only when the prompt helps: the input
// says "easy", the instructions carry "HINT:<label>", or a demonstration
// shows that label. Otherwise it answers the next label in the list, so
// every confusion is predictable. It records every message it is sent.
type labelModel struct {
	truth map[string]string // input -> label

	mu    sync.Mutex
	calls int
	seen  []string
	fail  func(input string) bool
}

func (m *labelModel) Name() string { return "label-model" }

func (m *labelModel) Complete(_ context.Context, req provider.Request) (*provider.Response, error) {
	m.mu.Lock()
	m.calls++
	for _, msg := range req.Messages {
		m.seen = append(m.seen, msg.Content)
	}
	m.mu.Unlock()

	var users []string
	demos := map[string]bool{}
	for _, msg := range req.Messages {
		switch msg.Role {
		case "user":
			users = append(users, msg.Content)
		case "assistant":
			demos[msg.Content] = true
		}
	}
	if len(users) == 0 {
		return nil, errors.New("label-model: no user turn")
	}
	last := users[len(users)-1]
	input := last[strings.LastIndex(last, "\n")+1:]
	if m.fail != nil && m.fail(input) {
		return nil, &provider.Error{Provider: "label-model", StatusCode: 500, Message: "boom"}
	}
	truth, ok := m.truth[input]
	if !ok {
		return &provider.Response{Text: "no idea"}, nil
	}
	if strings.Contains(input, "easy") || strings.Contains(users[0], "HINT:"+truth) || demos[truth] {
		return &provider.Response{Text: truth}, nil
	}
	return &provider.Response{Text: nextLabel(truth)}, nil
}

func (m *labelModel) sawAny(texts []string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var hits []string
	for _, s := range m.seen {
		for _, t := range texts {
			if strings.Contains(s, t) {
				hits = append(hits, t)
			}
		}
	}
	return hits
}

func nextLabel(l string) string {
	for i, x := range testLabels {
		if x == l {
			return testLabels[(i+1)%len(testLabels)]
		}
	}
	return testLabels[0]
}

// fakeProposer writes instructions whose quality depends on the seed: a
// third of them hint two labels, a third hint one and a third hint none.
type fakeProposer struct {
	mu      sync.Mutex
	calls   int
	prompts []string
	temps   []float64
}

func (p *fakeProposer) Name() string { return "fake-proposer" }

func (p *fakeProposer) Complete(_ context.Context, req provider.Request) (*provider.Response, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	for _, m := range req.Messages {
		p.prompts = append(p.prompts, m.Content)
	}
	if req.Temperature != nil {
		p.temps = append(p.temps, *req.Temperature)
	}
	var seed int64
	if req.Seed != nil {
		seed = *req.Seed
	}
	var text string
	switch seed % 3 {
	case 0:
		text = "Route the ticket. HINT:gamma HINT:delta"
	case 1:
		text = "Route the ticket carefully."
	default:
		text = "Route the ticket. HINT:alpha"
	}
	return &provider.Response{Text: "```\n" + text + "\n```"}, nil
}

func (p *fakeProposer) sawAny(texts []string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var hits []string
	for _, s := range p.prompts {
		for _, t := range texts {
			if strings.Contains(s, t) {
				hits = append(hits, t)
			}
		}
	}
	return hits
}

// exactScorer passes an answer equal to the expected label, ignoring case.
type exactScorer struct{}

func (exactScorer) Name() string { return "exact" }

func (exactScorer) Score(_ context.Context, ex lab.Example, answer string) (lab.Score, error) {
	if strings.EqualFold(strings.TrimSpace(answer), ex.Expected) {
		return lab.Score{Value: 1, Pass: true}, nil
	}
	return lab.Score{Value: 0}, nil
}

// fixture is a toy dataset: per label, train has one easy and two hard
// examples, validation four hard ones, test four of its own.
type fixture struct {
	train, val, test []lab.Example
	truth            map[string]string
	easyIDs          map[string]bool
}

func newFixture() fixture {
	f := fixture{truth: map[string]string{}, easyIDs: map[string]bool{}}
	add := func(split *[]lab.Example, id, input, label string) {
		*split = append(*split, lab.Example{ID: id, Input: input, Expected: label})
		f.truth[input] = label
	}
	for _, l := range testLabels {
		add(&f.train, "tr-"+l+"-easy", "train ticket easy "+l, l)
		f.easyIDs["tr-"+l+"-easy"] = true
		for i := 0; i < 2; i++ {
			add(&f.train, fmt.Sprintf("tr-%s-%d", l, i), fmt.Sprintf("train ticket hard %s %d", l, i), l)
		}
		for i := 0; i < 4; i++ {
			add(&f.val, fmt.Sprintf("va-%s-%d", l, i), fmt.Sprintf("validation ticket %s %d", l, i), l)
			add(&f.test, fmt.Sprintf("te-%s-%d", l, i), fmt.Sprintf("held-out ticket %s %d", l, i), l)
		}
	}
	return f
}

func inputs(exs []lab.Example) []string {
	out := make([]string, len(exs))
	for i, ex := range exs {
		out[i] = ex.Input
	}
	return out
}
