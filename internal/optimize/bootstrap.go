package optimize

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
)

// bootstrap runs the base variant on a seeded sample of train and returns
// the demonstration pool: the examples the model got right first (they show
// the task the way the model already reads it, as in DSPy's
// BootstrapFewShot), then labelled examples of any label it never got right,
// so a set can still cover every label. It also returns the failures, which
// feed instruction proposals: train failures, so that validation stays a
// clean judge of the proposals. reserve calls are left for scoring.
func (s *search) bootstrap(ctx context.Context, base lab.Variant, train []lab.Example, reserve int) (pool []lab.Example, fails []CaseResult, err error) {
	n := min(s.opts.BootstrapSize, len(train), s.remaining()-reserve)
	passed := map[string]bool{}
	if n > 0 {
		r := rand.New(rand.NewPCG(uint64(s.opts.Seed), 0x626f6f74))
		idx := r.Perm(len(train))[:n]
		sort.Ints(idx) // keep train order, so results read naturally
		sample := make([]lab.Example, n)
		for i, j := range idx {
			sample[i] = train[j]
		}
		res, err := s.o.Eval(ctx, base, sample)
		s.calls += res.Calls
		if err != nil {
			return nil, nil, fmt.Errorf("bootstrap demonstrations: %w", err)
		}
		for _, c := range res.Cases {
			if c.Pass {
				passed[c.ID] = true
			} else {
				fails = append(fails, c)
			}
		}
	} else if len(train) > 0 {
		s.out.Exhausted = true
	}

	covered := map[string]bool{}
	for _, ex := range train {
		if passed[ex.ID] {
			pool = append(pool, ex)
			covered[ex.Expected] = true
		}
	}
	for _, ex := range train {
		if !passed[ex.ID] && ex.Expected != "" && (!covered[ex.Expected] || len(pool) < s.opts.K) {
			pool = append(pool, ex)
		}
	}
	return pool, fails, nil
}

// demoSets draws up to n distinct fixed demonstration sets of k examples
// from pool, seeded. For label tasks each set takes one example per label in
// a random label order before taking a second of any, so a set covers as
// many labels as k allows.
func demoSets(task lab.Task, pool []lab.Example, k, n int, seed int64) []*lab.FewShot {
	if len(pool) == 0 || k <= 0 {
		return nil
	}
	groups := map[string][]lab.Example{}
	var labels []string
	for _, ex := range pool {
		g := ""
		if task.Output == lab.OutputLabel {
			g = ex.Expected
		}
		if _, ok := groups[g]; !ok {
			labels = append(labels, g)
		}
		groups[g] = append(groups[g], ex)
	}
	sort.Strings(labels)

	r := rand.New(rand.NewPCG(uint64(seed), 0x64656d6f))
	seen := map[string]bool{}
	var out []*lab.FewShot
	for attempt := 0; len(out) < n && attempt < 8*n; attempt++ {
		order := slices.Clone(labels)
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		shuffled := make(map[string][]lab.Example, len(groups))
		for _, l := range order {
			g := slices.Clone(groups[l])
			r.Shuffle(len(g), func(i, j int) { g[i], g[j] = g[j], g[i] })
			shuffled[l] = g
		}
		var ids []string
		for round := 0; len(ids) < k; round++ {
			added := false
			for _, l := range order {
				if len(ids) < k && round < len(shuffled[l]) {
					ids = append(ids, shuffled[l][round].ID)
					added = true
				}
			}
			if !added {
				break
			}
		}
		key := slices.Clone(ids)
		sort.Strings(key)
		if seen[strings.Join(key, "\x00")] {
			continue
		}
		seen[strings.Join(key, "\x00")] = true
		out = append(out, &lab.FewShot{K: len(ids), Select: lab.SelectFixed, IDs: ids})
	}
	return out
}

// maxFailuresShown bounds the failures put into a proposal request.
const maxFailuresShown = 5

// propose asks the proposer for rewritten instructions.
func (s *search) propose(ctx context.Context, current string, fails []CaseResult, seed int64) (string, error) {
	temp := 0.7
	req := provider.Request{
		Model: s.o.ProposerModel,
		Messages: []provider.Message{
			{Role: "system", Content: "You write instructions for a language model. You reply with the instructions only."},
			{Role: "user", Content: proposalPrompt(s.o.Task, current, fails)},
		},
		MaxTokens:   1024,
		Temperature: &temp,
		Seed:        &seed,
	}
	resp, err := s.o.Proposer.Complete(ctx, req)
	s.calls++
	if err != nil {
		return "", fmt.Errorf("optimize: propose instructions (seed %d): %w", seed, err)
	}
	return cleanProposal(resp.Text), nil
}

func proposalPrompt(task lab.Task, current string, fails []CaseResult) string {
	var b strings.Builder
	b.WriteString("Rewrite the instructions below so that a language model does this task more accurately.\n\n")
	fmt.Fprintf(&b, "## Task\n%s\n\n", strings.TrimSpace(task.Description))
	if len(task.Labels) > 0 {
		fmt.Fprintf(&b, "## Allowed answers\n%s\n\n", strings.Join(task.Labels, ", "))
	}
	fmt.Fprintf(&b, "## Current instructions\n%s\n\n", strings.TrimSpace(current))
	if len(fails) > 0 {
		b.WriteString("## Cases the current instructions got wrong\n")
		for i, f := range fails[:min(len(fails), maxFailuresShown)] {
			got := f.Answer
			if f.Error != "" {
				got = "(error: " + f.Error + ")"
			}
			fmt.Fprintf(&b, "%d. Input: %s\n   Expected: %s\n   Got: %s\n", i+1, oneLine(f.Input, 400), oneLine(f.Expected, 200), oneLine(got, 200))
		}
		b.WriteString("\n")
	}
	b.WriteString("Keep what works, fix what led to these mistakes, and keep the required answer format. Reply with the new instructions only, no preamble.")
	return b.String()
}

// cleanProposal strips the wrapping chat models add around a requested text.
func cleanProposal(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "```") {
		s = strings.TrimPrefix(s, "```")
		if i := strings.IndexByte(s, '\n'); i >= 0 && !strings.Contains(s[:i], " ") {
			s = s[i+1:] // a language tag such as ```text
		}
		s = strings.TrimSuffix(strings.TrimSpace(s), "```")
	}
	for _, p := range []string{"New instructions:", "Instructions:"} {
		if len(s) >= len(p) && strings.EqualFold(s[:len(p)], p) {
			s = s[len(p):]
		}
	}
	return strings.TrimSpace(s)
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
