package main

import (
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
