package optimize

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/testutil/golden"

	"github.com/tunelab/tunelab/internal/lab"
)

func TestEvaluator(t *testing.T) {
	f := newFixture()
	cases := f.val[:8] // alpha and beta
	tests := []struct {
		name      string
		v         lab.Variant
		fail      func(string) bool
		wantScore float64
		wantErrs  int
		wantCalls int
		wantErr   string
	}{
		{name: "zero-shot", v: baseVariant, wantScore: 0, wantCalls: 8},
		{name: "alpha demonstrated", v: lab.Variant{FewShot: &lab.FewShot{K: 1, Select: lab.SelectFixed, IDs: []string{"tr-alpha-0"}}}, wantScore: 0.5, wantCalls: 8},
		{name: "hinted", v: lab.Variant{Instructions: "HINT:alpha HINT:beta"}, wantScore: 1, wantCalls: 8},
		{name: "failed calls are failed cases", v: lab.Variant{Instructions: "HINT:alpha HINT:beta"}, fail: func(in string) bool { return strings.Contains(in, "beta") }, wantScore: 0.5, wantErrs: 4, wantCalls: 8},
		{name: "bad template", v: lab.Variant{Template: "{{.Nope"}, wantErr: "template", wantCalls: 0},
		{name: "unknown demo", v: lab.Variant{FewShot: &lab.FewShot{K: 1, Select: lab.SelectFixed, IDs: []string{"te-alpha-0"}}}, wantErr: `no train example with id "te-alpha-0"`, wantCalls: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := &labelModel{truth: f.truth, fail: tc.fail}
			ev := NewEvaluator(testTask, m, "toy", lab.Params{}, exactScorer{}, f.train, 3)
			r, err := ev(context.Background(), tc.v, cases)
			if m.calls != tc.wantCalls || r.Calls != tc.wantCalls {
				t.Errorf("model got %d calls, result counts %d, want %d", m.calls, r.Calls, tc.wantCalls)
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Score(); got != tc.wantScore {
				t.Errorf("score %v, want %v", got, tc.wantScore)
			}
			if got := r.Errors(); got != tc.wantErrs {
				t.Errorf("%d errors, want %d", got, tc.wantErrs)
			}
			for i, c := range r.Cases {
				if c.ID != cases[i].ID {
					t.Errorf("case %d is %s, want %s: results must keep case order", i, c.ID, cases[i].ID)
				}
			}
		})
	}
}

func TestEvaluatorCanceled(t *testing.T) {
	f := newFixture()
	m := &labelModel{truth: f.truth}
	ev := NewEvaluator(testTask, m, "toy", lab.Params{}, exactScorer{}, f.train, 2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ev(ctx, baseVariant, f.val); err == nil {
		t.Fatal("no error from a canceled context")
	}
	if m.calls != 0 {
		t.Errorf("%d calls after cancel", m.calls)
	}
}

func TestFailures(t *testing.T) {
	res := func(id, expected, answer string, pass bool, errText string) CaseResult {
		return CaseResult{ID: id, Expected: expected, Answer: answer, Pass: pass, Error: errText}
	}
	tests := []struct {
		name string
		task lab.Task
		in   []CaseResult
		want []FailureGroup // examples checked by id only
	}{
		{name: "none", task: testTask, in: []CaseResult{res("1", "alpha", "alpha", true, "")}, want: nil},
		{
			name: "label confusions",
			task: testTask,
			in: []CaseResult{
				res("1", "alpha", "beta", false, ""),
				res("2", "alpha", "alpha", true, ""),
				res("3", "gamma", "Delta.", false, ""),
				res("4", "alpha", " BETA ", false, ""),
				res("5", "gamma", "delta", false, ""),
				res("6", "alpha", "beta", false, ""),
				res("7", "alpha", "beta", false, ""),
				res("8", "beta", "I think it is beta-ish", false, ""),
				res("9", "beta", "", false, ""),
				res("10", "beta", "", false, "HTTP 500"),
			},
			want: []FailureGroup{
				{Expected: "alpha", Got: "beta", Count: 4, Examples: []CaseResult{{ID: "1"}, {ID: "4"}, {ID: "6"}}},
				{Expected: "gamma", Got: "delta", Count: 2, Examples: []CaseResult{{ID: "3"}, {ID: "5"}}},
				{Expected: "beta", Got: GotEmpty, Count: 1, Examples: []CaseResult{{ID: "9"}}},
				{Expected: "beta", Got: GotError, Count: 1, Examples: []CaseResult{{ID: "10"}}},
				{Expected: "beta", Got: GotNotLabel, Count: 1, Examples: []CaseResult{{ID: "8"}}},
			},
		},
		{
			name: "free text",
			task: lab.Task{Output: lab.OutputText},
			in: []CaseResult{
				res("1", "Paris", "Lyon", false, ""),
				res("2", "Paris", "Lyon", false, ""),
				res("3", "Rome", "Milan", false, ""),
			},
			want: []FailureGroup{
				{Expected: "Paris", Got: "Lyon", Count: 2, Examples: []CaseResult{{ID: "1"}, {ID: "2"}}},
				{Expected: "Rome", Got: "Milan", Count: 1, Examples: []CaseResult{{ID: "3"}}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Failures(tc.task, tc.in)
			for i := range got {
				for j := range got[i].Examples {
					got[i].Examples[j] = CaseResult{ID: got[i].Examples[j].ID}
				}
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, tc.want)
			}
		})
	}
}

func TestDemoSets(t *testing.T) {
	f := newFixture()
	tests := []struct {
		name     string
		k, n     int
		wantSets int
		// each set covers min(k, labels) distinct labels
		wantLabels int
	}{
		{name: "k below labels", k: 2, n: 5, wantSets: 5, wantLabels: 2},
		{name: "k equals labels", k: 4, n: 3, wantSets: 3, wantLabels: 4},
		{name: "k above labels", k: 6, n: 3, wantSets: 3, wantLabels: 4},
		{name: "whole pool", k: 12, n: 3, wantSets: 1, wantLabels: 4},
	}
	label := map[string]string{}
	for _, ex := range f.train {
		label[ex.ID] = ex.Expected
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sets := demoSets(testTask, f.train, tc.k, tc.n, 11)
			if len(sets) != tc.wantSets {
				t.Fatalf("%d sets, want %d", len(sets), tc.wantSets)
			}
			seen := map[string]bool{}
			for _, s := range sets {
				if len(s.IDs) != min(tc.k, len(f.train)) || s.K != len(s.IDs) || s.Select != lab.SelectFixed {
					t.Errorf("set %+v, want %d fixed ids", s, tc.k)
				}
				labels := map[string]bool{}
				for _, id := range s.IDs {
					labels[label[id]] = true
				}
				if len(labels) != tc.wantLabels {
					t.Errorf("set %v covers %d labels, want %d", s.IDs, len(labels), tc.wantLabels)
				}
				key := slices.Clone(s.IDs)
				sort.Strings(key)
				if seen[strings.Join(key, ",")] {
					t.Errorf("set %v drawn twice", s.IDs)
				}
				seen[strings.Join(key, ",")] = true
			}
			if again := demoSets(testTask, f.train, tc.k, tc.n, 11); !reflect.DeepEqual(again, sets) {
				t.Errorf("same seed drew different sets")
			}
		})
	}
}

func TestCleanProposal(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "  Route it.  ", "Route it."},
		{"fenced", "```\nRoute it.\n```", "Route it."},
		{"fenced with tag", "```text\nRoute it.\nCarefully.\n```", "Route it.\nCarefully."},
		{"labelled", "New instructions: Route it.", "Route it."},
		{"labelled lower", "instructions:\nRoute it.", "Route it."},
		{"empty", "```\n```", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := cleanProposal(tc.in); got != tc.want {
				t.Errorf("cleanProposal(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestProposalPromptGolden(t *testing.T) {
	fails := []CaseResult{
		{Input: "my card was charged twice", Expected: "alpha", Answer: "beta"},
		{Input: "app\ncrashes", Expected: "gamma", Error: "HTTP 500"},
	}
	got := proposalPrompt(testTask, "Route each ticket to its queue.", fails)
	golden.Check(t, filepath.Join("testdata", "proposal.golden"), got)
}
