package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/cost"
	"github.com/tunelab/tunelab/internal/eval"
	"github.com/tunelab/tunelab/internal/provider/providertest"
	"github.com/tunelab/tunelab/internal/workspace"
)

func TestCostCommand(t *testing.T) {
	dir := newLab(t)

	// Before any evaluation there is nothing to price.
	r := tunelab(t, dir, nil, "cost")
	if r.code != exitUser || !strings.Contains(r.stderr, "run tunelab eval first") {
		t.Fatalf("cost before eval: exit %d, stderr %q", r.code, r.stderr)
	}

	o := newOracle(t, dir)
	srv := providertest.NewOpenAIServer(t, providertest.Text(o.answer))
	model := "openai-compatible:" + srv.URL + "#fake"
	if r := tunelab(t, dir, nil, "eval", "--model", model, "--limit", "10", "--quiet"); r.code != 0 {
		t.Fatalf("eval exit %d:\n%s", r.code, r.stderr)
	}

	tests := []struct {
		name     string
		args     []string
		wantCode int
		want     []string
		wantErr  string
	}{
		{
			name: "task volume from the config",
			args: []string{"cost"},
			want: []string{"your volume: 50,000 calls/day (task.volume in the config)", "50,000/day (yours)",
				"20,000/day", "200,000/day", "2,000,000/day", "fake/zero-shot", "trade-offs:"},
		},
		{
			name: "volume flag",
			args: []string{"cost", "--volume", "1234"},
			want: []string{"your volume: 1,234 calls/day (--volume)", "1,234/day (yours)", "2,000,000/day"},
		},
		{name: "unknown run", args: []string{"cost", "--run", "run-nope"}, wantCode: exitUser, wantErr: "--run run-nope: no such run"},
		{name: "negative volume", args: []string{"cost", "--volume", "-1"}, wantCode: exitUser, wantErr: "--volume -1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tunelab(t, dir, nil, tc.args...)
			if r.code != tc.wantCode {
				t.Fatalf("exit %d, want %d:\nstdout:\n%s\nstderr:\n%s", r.code, tc.wantCode, r.stdout, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("stderr %q, want it to contain %q", r.stderr, tc.wantErr)
			}
			if tc.wantCode == 0 && r.stderr != "" {
				t.Errorf("unexpected stderr: %s", r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
		})
	}
}

// TestCostDedicated prices the lab's model on a dedicated machine: its
// hours instead of its calls' seconds, and as many machines as the
// measured seconds per call need.
func TestCostDedicated(t *testing.T) {
	dir := newLab(t)
	path := filepath.Join(dir, "tunelab.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(string(raw), "  hourly_usd: 0.10", "  hourly_usd: 0.10\n  dedicated: true", 1)
	if cfg == string(raw) {
		t.Fatal("the example lab no longer sets local.hourly_usd")
	}
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	o := newOracle(t, dir)
	srv := providertest.NewOpenAIServer(t, providertest.Text(o.answer))
	model := "openai-compatible:" + srv.URL + "#fake"
	if r := tunelab(t, dir, nil, "eval", "--model", model, "--limit", "6", "--quiet"); r.code != 0 {
		t.Fatalf("eval exit %d:\n%s", r.code, r.stderr)
	}
	r := tunelab(t, dir, nil, "cost")
	if r.code != 0 {
		t.Fatalf("cost exit %d:\n%s", r.code, r.stderr)
	}
	t.Logf("tunelab cost:\n%s", r.stdout)
	tests := []struct {
		name, want string
	}{
		{"hosting is included", "costs include calls at their measured cost, dedicated hosting (calls on a dedicated machine cost nothing beyond its hours)"},
		// 0.10 an hour, every hour of 30.4 days.
		{"a machine's month", "hosting of fake/zero-shot: 1 replica of $72.96 a month ($0.10 an hour), from local.dedicated; each serves"},
		{"capacity from the measured seconds", "calls a day as measured:"},
		{"the table's hosting column", "$72.96/mo per"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(r.stdout, tc.want) {
				t.Errorf("stdout lacks %q:\n%s", tc.want, r.stdout)
			}
		})
	}
	// Calls on the machine cost nothing beyond its hours: "$ / call" is $0.
	if !regexp.MustCompile(`fake/zero-shot +\S+ +\$0 +\$72\.96/mo per [0-9,]+/day`).MatchString(r.stdout) {
		t.Errorf("no row with $0 a call and the machine's hosting:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "no dedicated hosting") {
		t.Errorf("says there is no hosting:\n%s", r.stdout)
	}
}

// TestCostNamedRun prices the run --run names, not the newest one.
func TestCostNamedRun(t *testing.T) {
	dir := newLab(t)
	o := newOracle(t, dir)
	srv := providertest.NewOpenAIServer(t, providertest.Text(o.answer))
	model := "openai-compatible:" + srv.URL + "#fake"
	ids := map[string]string{}
	for _, limit := range []string{"4", "6"} {
		r := tunelab(t, dir, nil, "eval", "--model", model, "--limit", limit, "--quiet")
		if r.code != 0 {
			t.Fatalf("eval exit %d:\n%s", r.code, r.stderr)
		}
		// eval names its run on stderr: "run ID: ...".
		m := regexp.MustCompile(`run (run-[0-9a-f]+):`).FindStringSubmatch(r.stderr)
		if m == nil {
			t.Fatalf("no run id in eval's stderr:\n%s", r.stderr)
		}
		ids[limit] = m[1]
	}
	tests := []struct {
		name, want string
		args       []string
	}{
		{name: "newest by default", args: []string{"cost"}, want: "run " + ids["6"] + ": 7 candidates, 6 test cases"},
		{name: "named older run", args: []string{"cost", "--run", ids["4"]}, want: "run " + ids["4"] + ": 7 candidates, 4 test cases"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tunelab(t, dir, nil, tc.args...)
			if r.code != 0 || !strings.Contains(r.stdout, tc.want) {
				t.Fatalf("exit %d, want stdout with %q:\n%s%s", r.code, tc.want, r.stdout, r.stderr)
			}
		})
	}
}

func TestUnknownCost(t *testing.T) {
	prices, err := cost.LoadTable("")
	if err != nil {
		t.Fatal(err)
	}
	w := &workspace.Workspace{Prices: prices}
	tests := []struct {
		name     string
		unpriced []string
		c        eval.CandidateSummary
		want     string
	}{
		{name: "priced api model", c: eval.CandidateSummary{Model: "openai:gpt-4o-mini", Calls: 3}, want: ""},
		{name: "api model without a price", c: eval.CandidateSummary{Model: "openai:gpt-made-up", Calls: 3}, want: "no price for openai:gpt-made-up"},
		{name: "config says unpriced", unpriced: []string{"anthropic:x"}, c: eval.CandidateSummary{Model: "anthropic:x", Calls: 3}, want: "no price for anthropic:x"},
		{name: "local model is priced by the hour", c: eval.CandidateSummary{Model: "local:m.gguf", Calls: 3}, want: ""},
		{name: "every call failed", c: eval.CandidateSummary{Model: "openai:gpt-4o-mini", Calls: 3, Errors: 3}, want: "no call succeeded"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := unknownCost(w, tc.unpriced, tc.c)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Errorf("unknownCost = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPrintTradeOffs(t *testing.T) {
	better := eval.CandidateSummary{ID: "big/few-shot", Accuracy: 0.8}
	cheaper := eval.CandidateSummary{ID: "small/zero-shot", Accuracy: 0.7}
	tests := []struct {
		name     string
		cands    []eval.CandidateSummary
		profiles []cost.Profile
		want     []string
		dontWant []string
	}{
		{
			name:     "more accurate and dearer per call",
			cands:    []eval.CandidateSummary{better, cheaper},
			profiles: []cost.Profile{{ID: better.ID, PerCallUSD: 0.0012}, {ID: cheaper.ID, PerCallUSD: 0.0002}},
			// 0.001 a call more, times 30.4 days, at 20k, 200k and 2M a day.
			want:     []string{"big/few-shot costs more per call than small/zero-shot ($0.0012 against $0.0002); it is worth it only if its +10.0 pts accuracy is worth $608/month at 20,000/day, $6,080/month at 200,000/day, $60,800/month at 2,000,000/day"},
			dontWant: []string{"break-even", "none:"},
		},
		{
			name:     "more accurate and cheaper: nothing to weigh",
			cands:    []eval.CandidateSummary{better, cheaper},
			profiles: []cost.Profile{{ID: better.ID, PerCallUSD: 0.0002}, {ID: cheaper.ID, PerCallUSD: 0.0012}},
			want:     []string{"none:"},
			dontWant: []string{"worth it only"},
		},
		{
			// A machine of 500 a month serving 100,000 calls a day against
			// 0.0002 a call: cheaper for good above 2,500 / 0.00608 =
			// 411,184, and between 500 / 0.00608 = 82,237 and each step.
			name:     "dedicated machines add steps",
			cands:    []eval.CandidateSummary{better, cheaper},
			profiles: []cost.Profile{{ID: better.ID, FixedMonthlyUSD: 500, CapacityPerDay: 100_000}, {ID: cheaper.ID, PerCallUSD: 0.0002}},
			want: []string{
				"big/few-shot costs more than small/zero-shot at some of these volumes (hosting and training included; a negative figure is a saving); it is worth it only if its +10.0 pts accuracy is worth $378/month at 20,000/day, -$216/month at 200,000/day, -$2,160/month at 2,000,000/day",
				"break-even: big/few-shot is cheaper than small/zero-shot above 411,184 calls/day; below that the cheaper one changes at 82,237, 100,000, 164,474, 200,000, 246,711, 300,000, ... calls/day, as replicas are added",
			},
		},
		{
			// 12 USD of training is 1 a month, under 1% of the other's
			// 608 at 20k calls a day and more at the other volumes.
			name:     "a difference within 1% is no trade-off",
			cands:    []eval.CandidateSummary{better, cheaper},
			profiles: []cost.Profile{{ID: better.ID, PerCallUSD: 0.001, TrainingUSD: 12}, {ID: cheaper.ID, PerCallUSD: 0.001}},
			want:     []string{"none:"},
			dontWant: []string{"worth it only"},
		},
		{
			name:  "training cost makes the lines cross",
			cands: []eval.CandidateSummary{better, cheaper},
			// 25/month of training against 0.001 a call less: 25 / 0.0304 = 822 a day.
			profiles: []cost.Profile{{ID: better.ID, PerCallUSD: 0.0002, TrainingUSD: 300}, {ID: cheaper.ID, PerCallUSD: 0.0012}},
			want:     []string{"break-even: big/few-shot is cheaper than small/zero-shot above 822 calls/day"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf strings.Builder
			printTradeOffs(&buf, tc.cands, tc.profiles, cost.Project(tc.profiles, 0))
			for _, w := range tc.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("missing %q in:\n%s", w, buf.String())
				}
			}
			for _, w := range tc.dontWant {
				if strings.Contains(buf.String(), w) {
					t.Errorf("unexpected %q in:\n%s", w, buf.String())
				}
			}
		})
	}
}

func TestUSD(t *testing.T) {
	tests := []struct {
		name string
		x    float64
		want string
	}{
		{name: "zero", x: 0, want: "$0"},
		{name: "fraction of a cent", x: 0.00036, want: "$0.00036"},
		{name: "dollars", x: 12.345, want: "$12.35"},
		{name: "thousands", x: 12185.4, want: "$12,185"},
		{name: "negative", x: -2500, want: "-$2,500"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := usd(tc.x); got != tc.want {
				t.Errorf("usd(%v) = %q, want %q", tc.x, got, tc.want)
			}
		})
	}
}
