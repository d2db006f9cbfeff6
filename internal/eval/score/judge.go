package score

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/provider"
)

// defaultRubric applies when the scorer names none.
const defaultRubric = "The answer must do what the task asks, correctly and completely. " +
	"When a reference answer is given, an answer that agrees with it in substance is correct even if worded differently, " +
	"and anything the reference contradicts is an error."

const judgeSystem = "You grade answers written by an AI system against a rubric. " +
	"Grade strictly and consistently, judge only the answer given, and reply with a JSON object only."

func newJudge(spec lab.ScorerSpec, deps Deps) (scoreFunc, error) {
	if strings.TrimSpace(spec.Model) == "" {
		return nil, errors.New("model is empty: set model to the judge model, e.g. openai:gpt-4.1")
	}
	if deps.Judge == nil {
		return nil, fmt.Errorf("no provider for judge model %s", spec.Model)
	}
	th := threshold(spec, DefaultJudgeThreshold)
	rubric := strings.TrimSpace(spec.Rubric)
	if rubric == "" {
		rubric = defaultRubric
	}
	model := apiModel(spec.Model)
	return func(ctx context.Context, ex lab.Example, answer string) (lab.Score, error) {
		// No temperature is set: several current models reject any
		// sampling setting, and the verdict's format is enforced by parsing.
		req := provider.Request{
			Model: model,
			Messages: []provider.Message{
				{Role: "system", Content: judgeSystem},
				{Role: "user", Content: judgePrompt(deps.TaskDescription, ex, answer, rubric)},
			},
		}
		resp, err := deps.Judge.Complete(ctx, req)
		if err != nil {
			return lab.Score{}, fmt.Errorf("judge %s: %w", spec.Model, err)
		}
		score, reason, err := ParseVerdict(resp.Text)
		if err != nil {
			return lab.Score{}, fmt.Errorf("judge %s on case %s: %w", spec.Model, caseName(ex), err)
		}
		v := (score - 1) / 4
		return lab.Score{
			Value:  v,
			Pass:   v >= th,
			Reason: fmt.Sprintf("judge score %s/5: %s", strconv.FormatFloat(score, 'f', -1, 64), clip(reason, 300)),
		}, nil
	}, nil
}

// judgePrompt fences each part so that text inside an answer cannot pose
// as the rubric or the grading instructions.
func judgePrompt(task string, ex lab.Example, answer, rubric string) string {
	var b strings.Builder
	if t := strings.TrimSpace(task); t != "" {
		fmt.Fprintf(&b, "Task given to the AI system:\n%s\n\n", t)
	}
	fmt.Fprintf(&b, "Input the AI system received:\n<input>\n%s\n</input>\n\n", ex.Input)
	if strings.TrimSpace(ex.Expected) != "" {
		fmt.Fprintf(&b, "Reference answer:\n<reference>\n%s\n</reference>\n\n", ex.Expected)
	}
	fmt.Fprintf(&b, "Answer to grade:\n<answer>\n%s\n</answer>\n\n", answer)
	fmt.Fprintf(&b, "Rubric:\n%s\n\n", rubric)
	b.WriteString("Give the answer a score from 1 to 5:\n" +
		"5 = meets the rubric fully\n" +
		"4 = meets it with only minor flaws\n" +
		"3 = partly right, with a real error or omission\n" +
		"2 = mostly wrong\n" +
		"1 = wrong, empty or off-task\n\n" +
		`Reply with only this JSON object: {"score": <integer 1-5>, "reason": "<one sentence>"}`)
	return b.String()
}

var (
	// "Score: 4", "score = 4/5", "**Rating:** 3", "final grade is 4".
	labelledScore = regexp.MustCompile(`(?i)\b(?:score|rating|grade)\b[*_\s]*(?:is|of)?[*_\s]*[:=]?[*_\s]*([0-9]+(?:\.[0-9]+)?)`)
	// "4/5", "4 out of 5".
	outOfFive = regexp.MustCompile(`(?i)\b([0-9]+(?:\.[0-9]+)?)\s*(?:/|out of)\s*5\b`)
)

// ParseVerdict reads a judge's reply. It takes the first JSON object with
// a "score" key (any case; a number or a numeric string), looking inside
// code fences and surrounding prose; failing that, the last "score: N" or
// "N/5" in the text, since a judge that reasons before answering puts the
// verdict at the end. The score must lie in [1, 5]. A reply without one is
// an error, never a zero: a judge's formatting slip must not read as a bad
// answer.
func ParseVerdict(text string) (score float64, reason string, err error) {
	if s, r, ok := verdictFromJSON(text); ok {
		if s < 1 || s > 5 {
			return 0, "", fmt.Errorf("judge score %v is outside 1 to 5 in verdict %q", s, clip(text, 200))
		}
		if r == "" {
			r = "no reason given"
		}
		return s, r, nil
	}
	for _, re := range []*regexp.Regexp{labelledScore, outOfFive} {
		ms := re.FindAllStringSubmatch(text, -1)
		if len(ms) == 0 {
			continue
		}
		s, perr := strconv.ParseFloat(ms[len(ms)-1][1], 64)
		if perr != nil {
			continue
		}
		if s < 1 || s > 5 {
			return 0, "", fmt.Errorf("judge score %v is outside 1 to 5 in verdict %q", s, clip(text, 200))
		}
		return s, strings.TrimSpace(text), nil
	}
	return 0, "", fmt.Errorf("no score from 1 to 5 in judge verdict %q", clip(text, 200))
}

func verdictFromJSON(text string) (score float64, reason string, ok bool) {
	for i := 0; i < len(text); i++ {
		if text[i] != '{' {
			continue
		}
		var obj map[string]any
		if err := json.NewDecoder(strings.NewReader(text[i:])).Decode(&obj); err != nil {
			continue
		}
		var raw any
		found := false
		for k, v := range obj {
			switch strings.ToLower(k) {
			case "score", "rating", "grade":
				raw, found = v, true
			case "reason", "reasoning", "explanation", "rationale":
				if s, isStr := v.(string); isStr && reason == "" {
					reason = strings.TrimSpace(s)
				}
			}
		}
		if !found {
			reason = ""
			continue
		}
		switch x := raw.(type) {
		case float64:
			return x, reason, true
		case string:
			s := strings.TrimSpace(x)
			s, _, _ = strings.Cut(s, "/")
			if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				return f, reason, true
			}
		}
		reason = ""
	}
	return 0, "", false
}
