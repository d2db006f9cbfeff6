package optimize

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/prompt"
	"github.com/tunelab/tunelab/internal/provider"
)

// Options bound the search.
type Options struct {
	// Budget is the most model calls the search may make, proposals
	// included. 0 means no limit.
	Budget int
	// Seed makes demo-set sampling and proposals reproducible.
	Seed int64
	// DemoSets is how many candidate demonstration sets to score (default 4).
	DemoSets int
	// Proposals is how many rewritten instructions to ask for (default 3).
	Proposals int
	// K is the number of demonstrations per set (default prompt.DefaultFewShotK).
	K int
	// BootstrapSize caps how many train examples the base variant is run on
	// to find demonstrations it gets right (default 50).
	BootstrapSize int
}

func (o Options) withDefaults() Options {
	if o.DemoSets <= 0 {
		o.DemoSets = 4
	}
	if o.Proposals < 0 {
		o.Proposals = 0
	} else if o.Proposals == 0 {
		o.Proposals = 3
	}
	if o.K <= 0 {
		o.K = prompt.DefaultFewShotK
	}
	if o.BootstrapSize <= 0 {
		o.BootstrapSize = 50
	}
	return o
}

// Trial is one variant the search scored on the validation split.
type Trial struct {
	Name    string      `json:"name"`
	Score   float64     `json:"score"`
	Calls   int         `json:"calls"` // model calls this trial cost, its proposal included
	Variant lab.Variant `json:"variant"`
}

// Outcome is what a search found.
type Outcome struct {
	// Best is the best variant, unexpanded like a variant in a config, named
	// "optimized" with technique lab.TechOptimized. When nothing beat the
	// base, it prompts exactly as the base does.
	Best      lab.Variant `json:"best"`
	BestScore float64     `json:"best_score"`
	BaseScore float64     `json:"base_score"`
	// Base and BestResult are the validation results behind the two scores,
	// for failure tables.
	Base       Result  `json:"base"`
	BestResult Result  `json:"best_result"`
	Trials     []Trial `json:"trials"`
	// Calls counts the requests the search made, answered by the model or
	// by the response cache alike: the budget is counted in them, so a
	// search run again over the cache follows the same plan.
	Calls int `json:"calls"`
	// Exhausted says the budget stopped the search before its plan was done.
	Exhausted bool `json:"exhausted,omitempty"`
}

// BestName is the name the optimised variant is given.
const BestName = "optimized"

// Optimizer searches for a better variant of a task's prompt.
type Optimizer struct {
	Task lab.Task
	// Eval scores variants; it is the model being optimised for.
	Eval Evaluator
	// Proposer writes instruction proposals: the same provider as the
	// evaluated model, or a stronger one. Nil skips instruction proposals.
	Proposer      provider.Provider
	ProposerModel string
	// Cached, when set (ForTarget with a cache), is the cache that Eval's
	// and Proposer's requests go through, for counting what it saved.
	Cached *CachedProvider
}

// ErrBudget says the budget cannot pay even for scoring the base variant.
var ErrBudget = errors.New("budget too small")

type search struct {
	o      *Optimizer
	opts   Options
	calls  int
	out    *Outcome
	seen   map[string]bool
	bestR  Result
	bestV  lab.Variant
	bestSc float64
}

func (s *search) remaining() int {
	if s.opts.Budget <= 0 {
		return math.MaxInt
	}
	return s.opts.Budget - s.calls
}

// trial scores v on val unless an identical variant was scored already or
// the budget cannot pay for it. extra is calls already spent producing v.
func (s *search) trial(ctx context.Context, name string, v lab.Variant, val []lab.Example, extra int) (float64, bool, error) {
	key := variantKey(v)
	if s.seen[key] {
		return 0, false, nil
	}
	if s.remaining() < len(val) {
		s.out.Exhausted = true
		return 0, false, nil
	}
	s.seen[key] = true
	v.Name = name
	r, err := s.o.Eval(ctx, v, val)
	s.calls += r.Calls
	if err != nil {
		return 0, false, err
	}
	sc := r.Score()
	s.out.Trials = append(s.out.Trials, Trial{Name: name, Score: sc, Calls: r.Calls + extra, Variant: v})
	// Ties keep the earlier, simpler variant.
	if sc > s.bestSc {
		s.bestSc, s.bestV, s.bestR = sc, v, r
	}
	return sc, true, nil
}

// Run searches for a better variant than base. It reads train for
// demonstrations and val for scoring, and nothing else: pass no test
// examples in either.
func (o *Optimizer) Run(ctx context.Context, base lab.Variant, train, val []lab.Example, opts Options) (Outcome, error) {
	if o.Eval == nil {
		return Outcome{}, errors.New("optimize: no evaluator")
	}
	if len(val) == 0 {
		return Outcome{}, errors.New("optimize: the validation split is empty: add data.validation or a validation fraction to the split")
	}
	opts = opts.withDefaults()
	out := &Outcome{}
	s := &search{o: o, opts: opts, out: out, seen: map[string]bool{}}
	if s.remaining() < len(val) {
		return Outcome{}, fmt.Errorf("optimize: %w: scoring the base variant alone takes %d calls (one per validation case), the budget is %d", ErrBudget, len(val), opts.Budget)
	}

	skel := skeleton(base, o.Task)
	baseV := base
	baseV.Name = "base"
	s.seen[variantKey(baseV)] = true
	baseR, err := o.Eval(ctx, baseV, val)
	s.calls += baseR.Calls
	if err != nil {
		return Outcome{}, err
	}
	if baseR.Errors() == len(baseR.Cases) {
		return Outcome{}, fmt.Errorf("optimize: every call of the base variant failed; the first said: %s", baseR.Cases[0].Error)
	}
	out.Base, out.BaseScore = baseR, baseR.Score()
	out.Trials = append(out.Trials, Trial{Name: "base", Score: out.BaseScore, Calls: baseR.Calls, Variant: baseV})
	// The base is the variant to beat; as the skeleton it prompts the same.
	s.bestSc, s.bestV, s.bestR = out.BaseScore, withInstructions(skel, skel.Instructions), baseR
	s.seen[variantKey(s.bestV)] = true

	// Bootstrap: run the base on train, leaving room for one scored set.
	pool, trainFails, err := s.bootstrap(ctx, baseV, train, len(val))
	if err != nil {
		return Outcome{}, err
	}
	sets := demoSets(o.Task, pool, opts.K, opts.DemoSets, opts.Seed)
	type scored struct {
		fs    *lab.FewShot
		score float64
	}
	var demoScores []scored
	for i, fs := range sets {
		v := skel
		v.FewShot = fs
		sc, ok, err := s.trial(ctx, fmt.Sprintf("demos-%d", i+1), v, val, 0)
		if err != nil {
			return Outcome{}, err
		}
		if ok {
			demoScores = append(demoScores, scored{fs, sc})
		}
	}

	type instr struct {
		text  string
		score float64
	}
	instrs := []instr{{skel.Instructions, out.BaseScore}}
	if o.Proposer != nil {
		for i := 0; i < opts.Proposals; i++ {
			// A proposal is worth asking for only if it can then be scored.
			if s.remaining() < len(val)+1 {
				out.Exhausted = true
				break
			}
			text, err := s.propose(ctx, skel.Instructions, trainFails, opts.Seed+int64(i)+1)
			if err != nil {
				return Outcome{}, err
			}
			if text == "" {
				continue
			}
			sc, ok, err := s.trial(ctx, fmt.Sprintf("instructions-%d", i+1), withInstructions(skel, text), val, 1)
			if err != nil {
				return Outcome{}, err
			}
			if ok {
				instrs = append(instrs, instr{text, sc})
			}
		}
	}

	// Grid: the two best instructions with the two best demo sets.
	sort.SliceStable(instrs, func(i, j int) bool { return instrs[i].score > instrs[j].score })
	sort.SliceStable(demoScores, func(i, j int) bool { return demoScores[i].score > demoScores[j].score })
	for i := 0; i < min(2, len(instrs)); i++ {
		for j := 0; j < min(2, len(demoScores)); j++ {
			v := withInstructions(skel, instrs[i].text)
			v.FewShot = demoScores[j].fs
			if _, _, err := s.trial(ctx, fmt.Sprintf("combo-%d-%d", i+1, j+1), v, val, 0); err != nil {
				return Outcome{}, err
			}
		}
	}

	best := s.bestV
	best.Name, best.Technique = BestName, lab.TechOptimized
	out.Best, out.BestScore, out.BestResult, out.Calls = best, s.bestSc, s.bestR, s.calls
	return *out, nil
}

// skeleton is base with its technique's preset filled in and its core
// instructions (without the chain-of-thought and JSON suffixes that Expand
// appends) in Instructions, so that swapping the instructions and
// expanding again prompts exactly like the base apart from the swap.
func skeleton(base lab.Variant, task lab.Task) lab.Variant {
	core := base
	core.ChainOfThought, core.JSONSchema, core.FewShot = false, nil, nil
	if core.Technique == lab.TechChainOfThought || core.Technique == lab.TechJSON {
		core.Technique = ""
	}
	coreText := prompt.Expand(core, task).Instructions

	v := base
	if v.FewShot != nil {
		fs := *v.FewShot
		v.FewShot = &fs
	}
	v = prompt.Expand(v, task)
	v.Technique = lab.TechOptimized
	v.Instructions = coreText
	return v
}

func withInstructions(v lab.Variant, text string) lab.Variant {
	v.Instructions = text
	return v
}

// variantKey identifies what a variant prompts, ignoring its name.
func variantKey(v lab.Variant) string {
	v.Name = ""
	var b strings.Builder
	fmt.Fprintf(&b, "%s\x00%s\x00%s\x00%s\x00%t\x00%s\x00%s\x00%s", v.Technique, v.System, v.Instructions, v.Template, v.ChainOfThought, v.AnswerPattern, v.JSONSchema, v.AnswerField)
	if fs := v.FewShot; fs != nil {
		fmt.Fprintf(&b, "\x00%d/%s/%d/%s", fs.K, fs.Select, fs.Seed, strings.Join(fs.IDs, ","))
	}
	return b.String()
}
