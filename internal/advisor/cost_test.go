package advisor

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/config"
	"github.com/tunelab/tunelab/internal/cost"
	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/testutil/golden"
)

const costLab = `task:
  name: routing
  labels: [a, b]
data:
  test: test.jsonl
models:
  - model: local:base
    options: {parallel: "2"}
  - local:other
  - gemini:gemini-2.0-flash
  - model: openai:gpt-4o-mini
    hosting: {monthly_usd: 1000}
local:
  hourly_usd: 0.5
`

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestCostProfiles(t *testing.T) {
	sum := eval.Summary{Candidates: []eval.CandidateSummary{
		{ID: "base/zs", Model: "local:base", CostPer1K: 0.25},
		{ID: "other/zs", Model: "local:other", CostPer1K: 0.1},
		{ID: "gemini/zs", Model: "gemini:gemini-2.0-flash", CostPer1K: 0.3},
		{ID: "gpt/zs", Model: "openai:gpt-4o-mini", CostPer1K: 0.2},
		{ID: "tuned/zs", Model: "local:base-ft-0123456789ab", CostPer1K: 0.2},
		{ID: "failed/zs", Model: "local:failed", CostPer1K: 0},
	}}
	// base: 1 s and 3 s, so 2 s a call; a failed call and a zero latency
	// do not count. tuned: 0.5 s a call.
	results := []lab.CallResult{
		{CandidateID: "base/zs", LatencyMS: 1000}, {CandidateID: "base/zs", LatencyMS: 3000},
		{CandidateID: "base/zs", LatencyMS: 9000, Error: "boom"}, {CandidateID: "base/zs"},
		{CandidateID: "tuned/zs", LatencyMS: 500},
		{CandidateID: "failed/zs", Error: "boom"},
	}
	// 0.5 an hour, every hour of a 30.4-day month.
	const box = 0.5 * 24 * 30.4
	tests := []struct {
		name        string
		lab         string
		training    map[string]float64
		bases       map[string]string
		id          string
		want        cost.Profile
		wantHosting *Hosting
	}{
		{name: "local model on a shared machine is priced by its seconds", lab: costLab, id: "other/zs",
			want: cost.Profile{ID: "other/zs", PerCallUSD: 0.0001}},
		{name: "API model without hosting", lab: costLab, id: "gemini/zs",
			want: cost.Profile{ID: "gemini/zs", PerCallUSD: 0.0003}},
		{name: "API deployment pays tokens and hosting, any volume", lab: costLab, id: "gpt/zs",
			want:        cost.Profile{ID: "gpt/zs", PerCallUSD: 0.0002, FixedMonthlyUSD: 1000},
			wantHosting: &Hosting{From: "models[3].hosting", ReplicaMonthlyUSD: 1000}},
		{
			// 2 parallel slots · 86,400 s / 2 s a call.
			name: "dedicated machine: hours, not seconds, and a measured capacity", lab: costLab + "  dedicated: true\n", id: "base/zs",
			want:        cost.Profile{ID: "base/zs", FixedMonthlyUSD: box, CapacityPerDay: 86_400},
			wantHosting: &Hosting{From: "local.dedicated", ReplicaMonthlyUSD: box, HourlyUSD: 0.5, CapacityPerDay: 86_400, Measured: true, SecondsPerCall: 2, Parallel: 2, SelfHosted: true},
		},
		{
			// The tuned model was not given options, so it ran one call at
			// a time: 86,400 / 0.5. Its training is 1,200.
			name: "tuned model inherits its base's hosting, with its own capacity", training: map[string]float64{"local:base-ft-0123456789ab": 1200},
			lab: strings.Replace(costLab, `options: {parallel: "2"}`, `options: {parallel: "2"}`+"\n    hosting: {calls_per_day: 0}", 1), id: "tuned/zs",
			want:        cost.Profile{ID: "tuned/zs", FixedMonthlyUSD: box, CapacityPerDay: 172_800, TrainingUSD: 1200},
			wantHosting: &Hosting{From: "models[0].hosting, of its base local:base", ReplicaMonthlyUSD: box, HourlyUSD: 0.5, CapacityPerDay: 172_800, Measured: true, SecondsPerCall: 0.5, Parallel: 1, SelfHosted: true},
		},
		{
			name: "the base the caller names wins", bases: map[string]string{"local:base-ft-0123456789ab": "local:other"},
			lab: strings.Replace(costLab, "  - local:other\n", "  - model: local:other\n    hosting: {monthly_usd: 90, calls_per_day: 5000}\n", 1), id: "tuned/zs",
			want:        cost.Profile{ID: "tuned/zs", FixedMonthlyUSD: 90, CapacityPerDay: 5000},
			wantHosting: &Hosting{From: "models[1].hosting, of its base local:other", ReplicaMonthlyUSD: 90, CapacityPerDay: 5000, SelfHosted: true},
		},
		{name: "no call succeeded: capacity unknown, one machine", lab: costLab + "  dedicated: true\n", id: "failed/zs",
			want:        cost.Profile{ID: "failed/zs", FixedMonthlyUSD: box},
			wantHosting: &Hosting{From: "local.dedicated", ReplicaMonthlyUSD: box, HourlyUSD: 0.5, SelfHosted: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tc.lab), "tunelab.yaml")
			if err != nil {
				t.Fatal(err)
			}
			profiles, hosting := CostProfiles(CostInput{Config: cfg, Summary: sum, Results: results, Training: tc.training, Bases: tc.bases})
			got := profiles[tc.id]
			w := tc.want
			if got.ID != w.ID || !near(got.PerCallUSD, w.PerCallUSD) || !near(got.FixedMonthlyUSD, w.FixedMonthlyUSD) ||
				!near(got.CapacityPerDay, w.CapacityPerDay) || got.TrainingUSD != w.TrainingUSD {
				t.Errorf("profile %+v, want %+v", got, w)
			}
			h, ok := hosting[tc.id]
			if (tc.wantHosting != nil) != ok {
				t.Fatalf("hosting %+v (%v), want %+v", h, ok, tc.wantHosting)
			}
			if ok {
				wh := *tc.wantHosting
				if !near(h.ReplicaMonthlyUSD, wh.ReplicaMonthlyUSD) || !near(h.CapacityPerDay, wh.CapacityPerDay) || !near(h.SecondsPerCall, wh.SecondsPerCall) {
					t.Errorf("hosting %+v, want %+v", h, wh)
				}
				h.ReplicaMonthlyUSD, h.CapacityPerDay, h.SecondsPerCall = wh.ReplicaMonthlyUSD, wh.CapacityPerDay, wh.SecondsPerCall
				if h != wh {
					t.Errorf("hosting %+v, want %+v", h, wh)
				}
			}
		})
	}
}

func TestHostingDescribe(t *testing.T) {
	measured := Hosting{From: "local.dedicated", ReplicaMonthlyUSD: 364.8, HourlyUSD: 0.5, CapacityPerDay: 43_200, Measured: true, SecondsPerCall: 2, Parallel: 1, SelfHosted: true}
	tests := []struct {
		name string
		h    Hosting
		v    float64
		want string
	}{
		{name: "one machine", h: measured, v: 40_000,
			want: "1 replica of $365 a month ($0.50 an hour), from local.dedicated; each serves 43k calls a day as measured: 2 s a call, 1 at a time"},
		{name: "three machines", h: measured, v: 100_000, want: "3 replicas of $365"},
		{name: "a deployment that serves any volume", h: Hosting{From: "models[3].hosting", ReplicaMonthlyUSD: 1000}, v: 2e6,
			want: "1 replica of $1000 a month, from models[3].hosting"},
		{name: "capacity unknown", h: Hosting{From: "local.dedicated", ReplicaMonthlyUSD: 364.8, HourlyUSD: 0.5, SelfHosted: true}, v: 10,
			want: "its capacity is unknown (no call succeeded), so one replica is counted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.h.Describe(tc.v); !strings.Contains(got, tc.want) {
				t.Errorf("Describe = %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

// hostedLadder is the typical result with the tuned model on dedicated
// machines of 100 a month, each serving 43,200 calls a day: at 50,000
// calls a day it takes two, 200 a month (plus 0.02/12 of training).
// Against the hosted model's 1.5e-4 a call (0.00456 a month per daily
// call) the machines win above 200 / 0.00456 = 43,860 calls a day, after
// winning from 100 / 0.00456 = 21,930 up to the first machine's capacity.
func hostedLadder() Input {
	in := ladder()
	in.Summary.Candidates[1].VsBest = vs(-0.12, 0.004)
	p := in.Profiles["local:base-tuned/zero-shot"]
	p.PerCallUSD, p.FixedMonthlyUSD, p.CapacityPerDay = 0, 100, 43_200
	in.Profiles["local:base-tuned/zero-shot"] = p
	in.Hosting = map[string]Hosting{"local:base-tuned/zero-shot": {From: "models[0].hosting", ReplicaMonthlyUSD: 100,
		CapacityPerDay: 43_200, Measured: true, SecondsPerCall: 2, Parallel: 1, SelfHosted: true}}
	return in
}

func TestDecideWithHosting(t *testing.T) {
	tests := []struct {
		name        string
		in          func() Input
		wantPick    string
		wantReasons []string
		wantChanges []string
	}{
		{
			name: "the pick's hosting is in its bill and explained", in: hostedLadder, wantPick: "local:base-tuned/zero-shot",
			wantReasons: []string{
				"At your 50k calls a day it costs $200 a month",
				"Of that, $200 is dedicated hosting: 2 replicas of $100 a month, from models[0].hosting; each serves 43k calls a day as measured: 2 s a call, 1 at a time.",
				"A dedicated machine is paid for whether busy or idle, so calls on it cost nothing more.",
				// 228 - 200.0017.
				"would cost $28.00 more a month at that volume.",
			},
			wantChanges: []string{"Above 86k calls a day it needs another replica of its dedicated hosting (+$100 a month)."},
		},
		{
			name: "tied with the hosted model: the crossings as machines are added", in: func() Input {
				in := hostedLadder()
				in.Summary.Candidates[1].VsBest = vs(-0.02, 0.6)
				return in
			}, wantPick: "local:base-tuned/zero-shot",
			wantChanges: []string{"Cost crosses over with openai:gpt-4o-mini/few-shot at 44k calls a day; below that the cheaper of the two changes 2 more times as replicas are added, first at 22k."},
		},
		{
			// Two machines are over a budget of 150, and so is the hosted
			// model; the rival's hosting is named: 200.0017 - 7.6.
			name: "hosting over the budget", in: func() Input {
				in := hostedLadder()
				in.Constraints.MonthlyBudget = 150
				return in
			}, wantPick: "local:base/few-shot-nearest",
			wantReasons: []string{"local:base-tuned/zero-shot, would cost $192 more a month at that volume, $200 of it dedicated hosting."},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := Decide(tc.in())
			if v.Pick != tc.wantPick {
				t.Fatalf("pick %s on %s, want %s\n%s", v.Pick, v.Basis, tc.wantPick, strings.Join(v.Reasons, "\n"))
			}
			reasons, changes := strings.Join(v.Reasons, "\n"), strings.Join(v.Changes, "\n")
			for _, w := range tc.wantReasons {
				if !strings.Contains(reasons, w) {
					t.Errorf("reasons lack %q:\n%s", w, reasons)
				}
			}
			for _, w := range tc.wantChanges {
				if !strings.Contains(changes, w) {
					t.Errorf("changes lack %q:\n%s", w, changes)
				}
			}
		})
	}
}

// TestVerdictHostingGolden keeps verdict.json's hosting fields in view.
func TestVerdictHostingGolden(t *testing.T) {
	got, err := json.MarshalIndent(Decide(hostedLadder()), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "verdict-hosting.golden.json")
	golden.Check(t, path, got)
}
