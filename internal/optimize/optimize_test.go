package optimize

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
)

func newOptimizer(f fixture) (*Optimizer, *labelModel, *fakeProposer) {
	m := &labelModel{truth: f.truth}
	p := &fakeProposer{}
	ev := NewEvaluator(testTask, m, "toy", lab.Params{}, exactScorer{}, f.train, 4)
	return &Optimizer{Task: testTask, Eval: ev, Proposer: p, ProposerModel: "toy-proposer"}, m, p
}

var baseVariant = lab.Variant{Name: "zero", Technique: lab.TechZeroShot}

func TestOptimizeImprovesAndStaysOffTest(t *testing.T) {
	f := newFixture()
	o, m, p := newOptimizer(f)
	opts := Options{Seed: 7, DemoSets: 4, Proposals: 3, K: 2}
	out, err := o.Run(context.Background(), baseVariant, f.train, f.val, opts)
	if err != nil {
		t.Fatal(err)
	}

	if out.BaseScore != 0 {
		t.Errorf("base score %v, want 0: the toy model gets no hard case right zero-shot", out.BaseScore)
	}
	// Each demo set shows two labels and the best proposal hints two; the
	// grid can only reach above one half by combining them.
	if out.BestScore <= 0.5 {
		t.Errorf("best score %v, want above 0.5; trials: %+v", out.BestScore, out.Trials)
	}
	if out.Best.Name != BestName || out.Best.Technique != lab.TechOptimized {
		t.Errorf("best is %q/%q, want %q/%q", out.Best.Name, out.Best.Technique, BestName, lab.TechOptimized)
	}
	if out.Best.FewShot == nil || out.Best.FewShot.Select != lab.SelectFixed || len(out.Best.FewShot.IDs) != 2 {
		t.Fatalf("best few-shot %+v, want 2 fixed demonstrations", out.Best.FewShot)
	}
	for _, id := range out.Best.FewShot.IDs {
		if !f.easyIDs[id] {
			t.Errorf("demonstration %s was not bootstrapped: the model got only the easy train cases right", id)
		}
	}
	if !strings.Contains(out.Best.Instructions, "HINT:") {
		t.Errorf("best instructions %q, want a hinted proposal", out.Best.Instructions)
	}

	used := m.calls + p.calls
	// The best variant, rescored from scratch, scores what the search said.
	re, err := o.Eval(context.Background(), out.Best, f.val)
	if err != nil {
		t.Fatal(err)
	}
	if re.Score() != out.BestScore {
		t.Errorf("rescored best %v, search reported %v", re.Score(), out.BestScore)
	}

	if hits := m.sawAny(inputs(f.test)); len(hits) > 0 {
		t.Errorf("the model saw test inputs: %q", hits)
	}
	if hits := p.sawAny(inputs(f.test)); len(hits) > 0 {
		t.Errorf("the proposer saw test inputs: %q", hits)
	}
	// Proposals learn from train failures, so validation judges them fairly.
	if hits := p.sawAny(inputs(f.val)); len(hits) > 0 {
		t.Errorf("the proposer saw validation inputs: %q", hits)
	}
	if hits := p.sawAny([]string{"train ticket hard"}); len(hits) == 0 {
		t.Errorf("the proposer was shown no train failures")
	}
	if p.calls != 3 {
		t.Errorf("proposer calls %d, want 3", p.calls)
	}
	for _, temp := range p.temps {
		if temp != 0.7 {
			t.Errorf("proposal temperature %v, want 0.7", temp)
		}
	}
	if used != out.Calls {
		t.Errorf("outcome counts %d calls, the models received %d", out.Calls, used)
	}
	sum := 0
	for _, tr := range out.Trials {
		sum += tr.Calls
	}
	// Every call is either a trial's or the bootstrap run over train.
	if want := out.Calls - len(f.train); sum != want {
		t.Errorf("trial calls sum to %d, want %d", sum, want)
	}
}

func TestOptimizeBudget(t *testing.T) {
	f := newFixture()
	nval := len(f.val)
	tests := []struct {
		name       string
		budget     int
		wantErr    error
		wantTrials int // -1: do not check
		exhausted  bool
	}{
		{name: "below the base", budget: nval - 1, wantErr: ErrBudget},
		{name: "base only", budget: nval, wantTrials: 1, exhausted: true},
		{name: "base and one set", budget: 2*nval + 5, wantTrials: 2, exhausted: true},
		{name: "tight", budget: 5 * nval, wantTrials: -1, exhausted: true},
		{name: "ample", budget: 10000, wantTrials: -1},
		{name: "unlimited", budget: 0, wantTrials: -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, m, p := newOptimizer(f)
			out, err := o.Run(context.Background(), baseVariant, f.train, f.val, Options{Budget: tc.budget, Seed: 3, K: 2})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				if m.calls+p.calls != 0 {
					t.Errorf("made %d calls before refusing", m.calls+p.calls)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			used := m.calls + p.calls
			if tc.budget > 0 && used > tc.budget {
				t.Errorf("made %d calls on a budget of %d", used, tc.budget)
			}
			if used != out.Calls {
				t.Errorf("outcome says %d calls, models received %d", out.Calls, used)
			}
			if tc.wantTrials >= 0 && len(out.Trials) != tc.wantTrials {
				t.Errorf("%d trials, want %d: %+v", len(out.Trials), tc.wantTrials, out.Trials)
			}
			if out.Exhausted != tc.exhausted {
				t.Errorf("exhausted %v, want %v", out.Exhausted, tc.exhausted)
			}
			if out.BestScore < out.BaseScore {
				t.Errorf("best %v below base %v", out.BestScore, out.BaseScore)
			}
		})
	}
}

func TestOptimizeReproducible(t *testing.T) {
	f := newFixture()
	run := func(seed int64) Outcome {
		o, _, _ := newOptimizer(f)
		out, err := o.Run(context.Background(), baseVariant, f.train, f.val, Options{Seed: seed, K: 2, Budget: 300})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, seed := range []int64{1, 2, 42} {
		a, b := run(seed), run(seed)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("seed %d: two runs differ:\n%+v\n%+v", seed, a.Trials, b.Trials)
		}
	}
}

func TestOptimizeWithoutProposer(t *testing.T) {
	f := newFixture()
	o, _, _ := newOptimizer(f)
	o.Proposer = nil
	out, err := o.Run(context.Background(), baseVariant, f.train, f.val, Options{Seed: 1, K: 2, DemoSets: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range out.Trials {
		if strings.HasPrefix(tr.Name, "instructions-") {
			t.Errorf("trial %s ran without a proposer", tr.Name)
		}
	}
	if out.BestScore != 0.5 {
		t.Errorf("best %v, want 0.5: two of four labels demonstrated", out.BestScore)
	}
	// Demonstrations alone keep the base instructions.
	if want := prompt.Expand(baseVariant, testTask).Instructions; out.Best.Instructions != want {
		t.Errorf("instructions %q, want the base's %q", out.Best.Instructions, want)
	}
}

func TestOptimizeAllCallsFail(t *testing.T) {
	f := newFixture()
	o, m, _ := newOptimizer(f)
	m.fail = func(string) bool { return true }
	_, err := o.Run(context.Background(), baseVariant, f.train, f.val, Options{Seed: 1})
	if err == nil || !strings.Contains(err.Error(), "every call of the base variant failed") {
		t.Fatalf("error %v, want every call failed", err)
	}
}

// TestSkeletonPromptsLikeBase checks that the variant the search edits
// expands to the base's prompt, so a suffix is never added twice.
func TestSkeletonPromptsLikeBase(t *testing.T) {
	tests := []struct {
		name string
		v    lab.Variant
	}{
		{"zero-shot", lab.Variant{Technique: lab.TechZeroShot}},
		{"instructions", lab.Variant{Technique: lab.TechInstructions}},
		{"role", lab.Variant{Technique: lab.TechRole}},
		{"few-shot", lab.Variant{Technique: lab.TechFewShot}},
		{"chain-of-thought", lab.Variant{Technique: lab.TechChainOfThought}},
		{"json", lab.Variant{Technique: lab.TechJSON}},
		{"custom cot", lab.Variant{Instructions: "Pick a queue.", ChainOfThought: true, Template: "Ticket: {{.Input}}"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := prompt.Expand(tc.v, testTask)
			got := prompt.Expand(skeleton(tc.v, testTask), testTask)
			want.Technique, got.Technique = "", ""
			if !reflect.DeepEqual(got, want) {
				t.Errorf("skeleton expands to\n%+v\nwant\n%+v", got, want)
			}
		})
	}
}
