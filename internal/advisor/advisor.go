// Package advisor turns measured evidence into a recommendation: from each
// candidate's quality (with its interval and paired test against the best),
// latency, cost at the team's volume and the task's constraints, it picks
// what to ship and says why in sentences that cite the numbers, including
// when the evidence does not separate the candidates and what would change
// the answer.
package advisor

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/tunelab/tunelab/internal/cost"
	"github.com/tunelab/tunelab/internal/eval"
)

// Constraints are the task's limits; zero means none.
type Constraints struct {
	MinQuality       float64 `json:"min_quality,omitempty"`
	MaxLatencyMS     float64 `json:"max_latency_ms,omitempty"`
	MonthlyBudget    float64 `json:"monthly_budget,omitempty"`
	LocalOnly        bool    `json:"local_only,omitempty"`
	ChangeFrequency  string  `json:"change_frequency,omitempty"`
	KnowledgeChanges bool    `json:"knowledge_changes,omitempty"`
}

// Input is the evidence.
type Input struct {
	Summary     eval.Summary
	Volume      float64 // calls per day
	Constraints Constraints
	// Profiles are the candidates' costs, by candidate id; Local says
	// which candidates run on the team's own machine; Tuned which use a
	// fine-tuned model.
	Profiles map[string]cost.Profile
	Local    map[string]bool
	Tuned    map[string]bool
	// Hosting says how each candidate with dedicated hosting was priced
	// (CostProfiles), for the sentences that cite it.
	Hosting map[string]Hosting
	// Knowledge is the retrieval rung's evidence, when the ladder ran it.
	Knowledge *Knowledge
}

// Option is one candidate as the verdict weighs it.
type Option struct {
	ID         string  `json:"id"`
	Accuracy   float64 `json:"accuracy"`
	CILow      float64 `json:"ci_low"`
	CIHigh     float64 `json:"ci_high"`
	LatencyP95 float64 `json:"latency_p95_ms"`
	MonthlyUSD float64 `json:"monthly_usd"`
	// HostingUSD is the part of MonthlyUSD that pays for dedicated
	// hosting at the volume: Replicas replicas, each serving up to
	// CapacityPerDay calls a day (0: any volume).
	HostingUSD     float64 `json:"hosting_monthly_usd,omitempty"`
	Replicas       int     `json:"replicas,omitempty"`
	CapacityPerDay float64 `json:"capacity_per_day,omitempty"`
	// Hosting says how the hosting was priced, when Input.Hosting does.
	Hosting  *Hosting `json:"hosting,omitempty"`
	Tuned    bool     `json:"tuned"`
	Local    bool     `json:"local"`
	TiedBest bool     `json:"tied_with_best"` // not significantly worse than the best
	Fails    []string `json:"fails,omitempty"`
}

// Verdict is the recommendation.
type Verdict struct {
	Pick string `json:"pick"`
	// Basis is how the pick was made: "quality" (significantly better than
	// the alternatives), "cost" (as good as the best within the evidence,
	// and cheaper), "constraints" (the only ones that meet them) or
	// "none-meets" (nothing meets the constraints; the best is named).
	Basis     string                `json:"basis"`
	Reasons   []string              `json:"reasons"`
	Changes   []string              `json:"what_would_change_it"`
	Volume    float64               `json:"volume_per_day"`
	Options   []Option              `json:"options"`
	BreakEven []cost.BreakEvenPoint `json:"break_even"`
}

func pct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

func usd(x float64) string {
	switch {
	case x >= 100:
		return fmt.Sprintf("$%.0f", x)
	case x >= 1:
		return fmt.Sprintf("$%.2f", x)
	}
	return fmt.Sprintf("$%.4f", x)
}

// Decide weighs the evidence.
func Decide(in Input) Verdict {
	sum := in.Summary
	v := Verdict{Volume: in.Volume}
	byID := map[string]eval.CandidateSummary{}
	var profiles []cost.Profile
	for _, c := range sum.Candidates {
		byID[c.ID] = c
		p := in.Profiles[c.ID]
		p.ID = c.ID
		profiles = append(profiles, p)
		o := Option{
			ID: c.ID, Accuracy: c.Accuracy, CILow: c.CILow, CIHigh: c.CIHigh, LatencyP95: c.LatencyP95,
			MonthlyUSD: cost.MonthlyCost(p, in.Volume), Tuned: in.Tuned[c.ID], Local: in.Local[c.ID],
			TiedBest:   c.ID == sum.Best || (c.VsBest != nil && !c.VsBest.Significant),
			HostingUSD: cost.HostingUSD(p, in.Volume), Replicas: cost.Replicas(p, in.Volume), CapacityPerDay: p.CapacityPerDay,
		}
		if h, ok := in.Hosting[c.ID]; ok {
			o.Hosting = &h
		}
		k := in.Constraints
		if k.MinQuality > 0 && c.Accuracy < k.MinQuality {
			o.Fails = append(o.Fails, fmt.Sprintf("accuracy %s is below the minimum %s", pct(c.Accuracy), pct(k.MinQuality)))
		}
		if k.MaxLatencyMS > 0 && c.LatencyP95 > k.MaxLatencyMS {
			o.Fails = append(o.Fails, fmt.Sprintf("p95 latency %.0f ms is over the budget of %.0f ms", c.LatencyP95, k.MaxLatencyMS))
		}
		if k.MonthlyBudget > 0 && o.MonthlyUSD > k.MonthlyBudget {
			o.Fails = append(o.Fails, fmt.Sprintf("%s a month is over the budget of %s", usd(o.MonthlyUSD), usd(k.MonthlyBudget)))
		}
		if k.LocalOnly && !o.Local {
			o.Fails = append(o.Fails, "the data must stay local and this model is remote")
		}
		v.Options = append(v.Options, o)
	}
	if len(v.Options) == 0 {
		v.Basis = "none-meets"
		v.Reasons = []string{"There are no results to decide on: run the candidates first."}
		return v
	}
	sort.SliceStable(v.Options, func(a, b int) bool { return v.Options[a].Accuracy > v.Options[b].Accuracy })
	v.BreakEven = cost.BreakEvens(profiles)

	var feasible, tiedFeasible []Option
	for _, o := range v.Options {
		if len(o.Fails) == 0 {
			feasible = append(feasible, o)
			if o.TiedBest {
				tiedFeasible = append(tiedFeasible, o)
			}
		}
	}
	cheapest := func(os []Option) Option {
		best := os[0]
		for _, o := range os[1:] {
			if o.MonthlyUSD < best.MonthlyUSD-1e-9 || (math.Abs(o.MonthlyUSD-best.MonthlyUSD) <= 1e-9 && o.Accuracy > best.Accuracy) {
				best = o
			}
		}
		return best
	}
	var pick Option
	switch {
	case len(tiedFeasible) == 1:
		pick, v.Basis = tiedFeasible[0], "quality"
	case len(tiedFeasible) > 1:
		pick, v.Basis = cheapest(tiedFeasible), "cost"
	case len(feasible) > 0:
		pick, v.Basis = feasible[0], "constraints"
	default:
		pick, v.Basis = v.Options[0], "none-meets"
	}
	v.Pick = pick.ID
	v.Reasons = append(reasons(in, v, pick, byID, tiedFeasible), KnowledgeReasons(in.Knowledge)...)
	v.Changes = changes(in, v, pick)
	return v
}

func reasons(in Input, v Verdict, pick Option, byID map[string]eval.CandidateSummary, tied []Option) []string {
	sum := in.Summary
	var rs []string
	rs = append(rs, fmt.Sprintf("%s scores %s (95%% CI %s-%s) on %d test cases.", pick.ID, pct(pick.Accuracy), pct(pick.CILow), pct(pick.CIHigh), sum.Cases))
	switch v.Basis {
	case "quality":
		// Against the strongest alternative of the other kind (tuned vs
		// prompting), and against the runner-up when that is another one.
		cited := ""
		for _, o := range v.Options {
			if o.ID == pick.ID || o.Tuned == pick.Tuned {
				continue
			}
			if c := byID[o.ID].VsBest; c != nil && pick.ID == sum.Best {
				rs = append(rs, fmt.Sprintf("It is %.1f points more accurate than the best %s, %s (%s; difference %.1f to %.1f points, %s p=%.2g).",
					-100*c.Diff, kind(o.Tuned), o.ID, pct(o.Accuracy), -100*c.DiffHigh, -100*c.DiffLow, c.Method, c.P))
				cited = o.ID
			}
			break
		}
		for _, o := range v.Options {
			if o.ID == pick.ID {
				continue
			}
			if o.ID == cited {
				break
			}
			if c := byID[o.ID].VsBest; c != nil && pick.ID == sum.Best {
				rs = append(rs, fmt.Sprintf("The runner-up, %s, is significantly behind (%s, p=%.2g).", o.ID, pct(o.Accuracy), c.P))
			}
			break
		}
	case "cost":
		var names []string
		for _, o := range tied {
			if o.ID != pick.ID {
				names = append(names, fmt.Sprintf("%s (%s)", o.ID, pct(o.Accuracy)))
			}
		}
		rs = append(rs, fmt.Sprintf("The evidence does not separate it from %s: none is significantly less accurate than the best (p >= 0.05), so this is a choice on cost, not a quality winner; more test cases would settle it.", strings.Join(names, ", ")))
	case "constraints":
		rs = append(rs, fmt.Sprintf("The most accurate candidate, %s, fails your constraints: %s.", v.Options[0].ID, strings.Join(v.Options[0].Fails, "; ")))
	case "none-meets":
		rs = append(rs, fmt.Sprintf("No candidate meets your constraints; the most accurate is named, but: %s.", strings.Join(pick.Fails, "; ")))
	}
	rs = append(rs, fmt.Sprintf("At your %s calls a day it costs %s a month (p95 latency %.0f ms).", volume(in.Volume), usd(pick.MonthlyUSD), pick.LatencyP95))
	if s := hostingSentence(in, pick); s != "" {
		rs = append(rs, s)
	}
	for _, o := range v.Options {
		if o.ID != pick.ID && o.Tuned != pick.Tuned {
			diff := o.MonthlyUSD - pick.MonthlyUSD
			word := "more"
			if diff < 0 {
				word, diff = "less", -diff
			}
			incl := ""
			if o.HostingUSD > 0 {
				incl = fmt.Sprintf(", %s of it dedicated hosting", usd(o.HostingUSD))
			}
			rs = append(rs, fmt.Sprintf("The best %s, %s, would cost %s %s a month at that volume%s.", kind(o.Tuned), o.ID, usd(diff), word, incl))
			break
		}
	}
	return rs
}

func kind(tuned bool) string {
	if tuned {
		return "fine-tuned candidate"
	}
	return "candidate without fine-tuning"
}

func volume(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.1fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.0fk", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

func changes(in Input, v Verdict, pick Option) []string {
	var cs []string
	for _, b := range v.BreakEven {
		other := ""
		switch pick.ID {
		case b.A:
			other = b.B
		case b.B:
			other = b.A
		default:
			continue
		}
		if !b.Crosses || b.CallsPerDay <= 0 {
			continue
		}
		var o Option
		for _, x := range v.Options {
			if x.ID == other {
				o = x
			}
		}
		if !o.TiedBest && o.Accuracy < pick.Accuracy {
			continue // cheaper but worse: not a reason to switch
		}
		line := fmt.Sprintf("Cost crosses over with %s at %s calls a day", other, volume(b.CallsPerDay))
		if n := len(b.Switches); n > 1 {
			line += fmt.Sprintf("; below that the cheaper of the two changes %d more times as replicas are added, first at %s", n-1, volume(b.Switches[0]))
		}
		cs = append(cs, line+".")
	}
	if s := nextReplica(in, pick); s != "" {
		cs = append(cs, s)
	}
	if pick.Tuned {
		cs = append(cs, "A tuned model is frozen: if the task or its labels change, it must be retrained on new data, while a prompt is edited in minutes.")
		if in.Constraints.KnowledgeChanges {
			cs = append(cs, "Your knowledge changes: facts learned in training go stale; prefer retrieval for them.")
		}
	} else {
		cs = append(cs, "If accuracy matters more than it does now, fine-tuning on more examples is the next rung to measure.")
	}
	if v.Basis == "cost" {
		cs = append(cs, "A larger test set could show a real quality difference between the tied candidates.")
	}
	return cs
}
