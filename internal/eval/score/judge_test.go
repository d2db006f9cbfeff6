package score

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
)

func TestParseVerdict(t *testing.T) {
	tests := []struct {
		name       string
		text       string
		wantScore  float64
		wantReason string // substring
		wantErr    string
	}{
		{name: "plain JSON", text: `{"score": 4, "reason": "Correct but terse."}`, wantScore: 4, wantReason: "Correct but terse."},
		{name: "fenced JSON", text: "```json\n{\"score\": 5, \"reason\": \"Exact.\"}\n```", wantScore: 5, wantReason: "Exact."},
		{name: "JSON after prose", text: "Let me think. The answer names the right city.\n{\"score\": 5, \"reason\": \"right city\"}", wantScore: 5, wantReason: "right city"},
		{name: "capitalised keys", text: `{"Score": 2, "Reason": "Wrong year."}`, wantScore: 2, wantReason: "Wrong year."},
		{name: "score as string", text: `{"score": "3", "reason": "partial"}`, wantScore: 3},
		{name: "score as fraction string", text: `{"score": "4/5", "reason": "ok"}`, wantScore: 4},
		{name: "half point", text: `{"score": 4.5}`, wantScore: 4.5, wantReason: "no reason given"},
		{name: "braces in prose before JSON", text: "The set {a, b} is fine. {\"score\": 3, \"reason\": \"r\"}", wantScore: 3},
		{name: "JSON without score then prose score", text: "{\"note\": \"x\"}\nScore: 2", wantScore: 2},
		{name: "prose Score: N", text: "The answer is mostly right.\nScore: 4", wantScore: 4, wantReason: "mostly right"},
		{name: "markdown bold", text: "**Score:** 3\nMissing the unit.", wantScore: 3},
		{name: "rating is", text: "My rating is 2 because it is off-topic.", wantScore: 2},
		{name: "last labelled score wins", text: "A score of 5 would need the unit. Final score: 3", wantScore: 3},
		{name: "N out of 5", text: "I'd give this 4 out of 5.", wantScore: 4},
		{name: "N/5", text: "Verdict: 2/5 - wrong date.", wantScore: 2},
		{name: "out of range JSON", text: `{"score": 7, "reason": "great"}`, wantErr: "outside 1 to 5"},
		{name: "zero in prose", text: "Score: 0", wantErr: "outside 1 to 5"},
		{name: "no score", text: "The answer looks fine to me.", wantErr: "no score from 1 to 5"},
		{name: "empty reply", text: "", wantErr: "no score from 1 to 5"},
		{name: "non-numeric score", text: `{"score": "excellent"}`, wantErr: "no score"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			score, reason, err := ParseVerdict(tc.text)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseVerdict error = %v (score %v), want one containing %q", err, score, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseVerdict: %v", err)
			}
			if score != tc.wantScore {
				t.Fatalf("score = %v, want %v", score, tc.wantScore)
			}
			if tc.wantReason != "" && !strings.Contains(reason, tc.wantReason) {
				t.Fatalf("reason = %q, want it to contain %q", reason, tc.wantReason)
			}
		})
	}
}

func TestJudgeScorer(t *testing.T) {
	tests := []struct {
		name      string
		reply     string
		callErr   error
		threshold float64
		wantValue float64
		wantPass  bool
		wantErr   string
	}{
		{name: "5 passes", reply: `{"score": 5, "reason": "right"}`, wantValue: 1, wantPass: true},
		{name: "4 passes at default 0.75", reply: `{"score": 4, "reason": "minor"}`, wantValue: 0.75, wantPass: true},
		{name: "3 fails at default", reply: `{"score": 3, "reason": "partial"}`, wantValue: 0.5, wantPass: false},
		{name: "1 is zero", reply: "Score: 1", wantValue: 0, wantPass: false},
		{name: "3 passes at threshold 0.5", reply: `{"score": 3}`, threshold: 0.5, wantValue: 0.5, wantPass: true},
		{name: "malformed verdict is an error, not a zero", reply: "Looks good!", wantErr: `on case "c1"`},
		{name: "provider error is wrapped", callErr: &provider.Error{Provider: "fake", StatusCode: 500, Message: "boom", Retryable: true}, wantErr: "judge openai:gpt-4.1: fake: HTTP 500: boom"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fj := &fakeJudge{reply: tc.reply, err: tc.callErr}
			spec := lab.ScorerSpec{Type: "judge", Model: "openai:gpt-4.1", Rubric: "Must name the capital city.", Threshold: tc.threshold}
			sc, err := New(spec, Deps{Judge: fj, TaskDescription: "Answer geography questions."})
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			ex := lab.Example{ID: "c1", Input: "Capital of France?", Expected: "Paris"}
			got, err := sc.Score(context.Background(), ex, "Paris")
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tc.wantErr)
				}
				if tc.callErr != nil && !provider.IsRetryable(err) {
					t.Fatalf("wrapped provider error lost its retryable flag: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Score: %v", err)
			}
			if !approx(got.Value, tc.wantValue) || got.Pass != tc.wantPass {
				t.Fatalf("score = %+v, want Value %v Pass %v", got, tc.wantValue, tc.wantPass)
			}
			if !strings.HasPrefix(got.Reason, "judge score ") {
				t.Fatalf("Reason = %q, want it to start with the judge score", got.Reason)
			}
		})
	}
}

func TestJudgePrompt(t *testing.T) {
	fj := &fakeJudge{reply: `{"score": 5, "reason": "ok"}`}
	sc, err := New(lab.ScorerSpec{Type: "judge", Model: "openai:gpt-4.1-mini", Rubric: "Cite the year."}, Deps{Judge: fj, TaskDescription: "Answer history questions."})
	if err != nil {
		t.Fatal(err)
	}
	ex := lab.Example{ID: "h1", Input: "When did the Berlin Wall fall?", Expected: "1989"}
	if _, err := sc.Score(context.Background(), ex, "In November 1989."); err != nil {
		t.Fatal(err)
	}
	req := fj.last()
	if req.Model != "gpt-4.1-mini" {
		t.Errorf("request model = %q, want the API name gpt-4.1-mini", req.Model)
	}
	if req.Temperature != nil {
		t.Errorf("judge set a temperature; some models reject it")
	}
	if len(req.Messages) != 2 || req.Messages[0].Role != "system" || req.Messages[1].Role != "user" {
		t.Fatalf("messages = %+v, want system then user", req.Messages)
	}
	user := req.Messages[1].Content
	for _, part := range []string{
		"Answer history questions.",
		"<input>\nWhen did the Berlin Wall fall?\n</input>",
		"<reference>\n1989\n</reference>",
		"<answer>\nIn November 1989.\n</answer>",
		"Cite the year.",
		`{"score": <integer 1-5>, "reason": "<one sentence>"}`,
	} {
		if !strings.Contains(user, part) {
			t.Errorf("prompt lacks %q:\n%s", part, user)
		}
	}

	t.Run("no reference, default rubric", func(t *testing.T) {
		sc, err := New(lab.ScorerSpec{Type: "judge", Model: "gpt-4.1"}, Deps{Judge: fj})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sc.Score(context.Background(), lab.Example{ID: "x", Input: "Write a haiku."}, "Leaves fall"); err != nil {
			t.Fatal(err)
		}
		req := fj.last()
		user := req.Messages[1].Content
		if strings.Contains(user, "<reference>") {
			t.Errorf("prompt has a reference block without a reference:\n%s", user)
		}
		if !strings.Contains(user, defaultRubric) {
			t.Errorf("prompt lacks the default rubric:\n%s", user)
		}
		if req.Model != "gpt-4.1" {
			t.Errorf("bare model name = %q, want it passed through", req.Model)
		}
	})
}

func TestJudgeCancelled(t *testing.T) {
	fj := &fakeJudge{err: context.Canceled}
	sc, err := New(lab.ScorerSpec{Type: "judge", Model: "openai:gpt-4.1"}, Deps{Judge: fj})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sc.Score(context.Background(), lab.Example{ID: "c"}, "a")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want it to wrap context.Canceled", err)
	}
}
