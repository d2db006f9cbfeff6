// Package prompt turns a task, a prompt variant and a case into the chat
// messages a model receives, and the model's reply back into the answer the
// scorers judge. Techniques (zero-shot, instructions, role, few-shot,
// chain-of-thought, JSON output) are presets that fill the fields of a
// variant the user left empty, so they compose: a role prompt with
// nearest-neighbour examples and chain-of-thought is one variant.
package prompt

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
)

// DefaultAnswerPattern pulls the final answer out of a chain-of-thought reply.
const DefaultAnswerPattern = `(?im)^\W*(?:final\s+)?answer\s*[:=][\s*_]*(.+?)[\s*.]*$`

// DefaultFewShotK is the number of demonstrations when a preset asks for them.
const DefaultFewShotK = 4

// Expand fills a variant's empty fields from its technique and the task.
// It is pure: the same variant and task always give the same result, which
// keeps run ids and the response cache stable.
func Expand(v lab.Variant, task lab.Task) lab.Variant {
	switch v.Technique {
	case lab.TechInstructions:
		if v.Instructions == "" {
			v.Instructions = structuredInstructions(task)
		}
	case lab.TechRole:
		if v.System == "" {
			v.System = roleSystem(task)
		}
	case lab.TechFewShot:
		if v.FewShot == nil {
			v.FewShot = &lab.FewShot{K: DefaultFewShotK, Select: lab.SelectNearest}
		}
	case lab.TechChainOfThought:
		v.ChainOfThought = true
	case lab.TechJSON:
		if len(v.JSONSchema) == 0 {
			v.JSONSchema = defaultSchema(task)
			v.AnswerField = "answer"
		}
	}
	if v.Instructions == "" {
		v.Instructions = zeroShotInstructions(task)
	}
	if v.ChainOfThought {
		if v.AnswerPattern == "" {
			v.AnswerPattern = DefaultAnswerPattern
		}
		v.Instructions += "\n\nThink it through step by step first. Then give the final answer on its own last line, as: Answer: <answer>"
	}
	if len(v.JSONSchema) > 0 {
		v.Instructions += "\n\nReply with only a JSON object that conforms to this JSON Schema:\n" + string(v.JSONSchema)
	}
	if v.FewShot != nil && v.FewShot.Select == "" {
		v.FewShot.Select = lab.SelectNearest
	}
	if v.Template == "" {
		v.Template = "{{.Input}}"
	}
	return v
}

func zeroShotInstructions(task lab.Task) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(task.Description))
	if task.Output == lab.OutputLabel && len(task.Labels) > 0 {
		fmt.Fprintf(&b, "\nAnswer with exactly one of: %s.", strings.Join(task.Labels, ", "))
	}
	return strings.TrimSpace(b.String())
}

func structuredInstructions(task lab.Task) string {
	var b strings.Builder
	b.WriteString("## Task\n")
	b.WriteString(strings.TrimSpace(task.Description))
	b.WriteString("\n\n## Output\n")
	switch task.Output {
	case lab.OutputLabel:
		b.WriteString("Choose exactly one label from this list:\n")
		for _, l := range task.Labels {
			fmt.Fprintf(&b, "- %s\n", l)
		}
		b.WriteString("\n## Rules\n- Reply with the label only, spelled exactly as listed.\n- No explanation, no punctuation, no quotes.\n- If several labels seem to fit, pick the one the customer most needs acted on.")
	case lab.OutputJSON:
		b.WriteString("Reply with one JSON document and nothing else.")
	default:
		b.WriteString("Reply with the answer only, without preamble.")
	}
	return b.String()
}

func roleSystem(task lab.Task) string {
	name := task.Name
	if name == "" {
		name = "this task"
	}
	return fmt.Sprintf("You are a meticulous expert at %s. You answer precisely, in the requested format, and never add anything else.", strings.ReplaceAll(name, "-", " "))
}

func defaultSchema(task lab.Task) json.RawMessage {
	answer := map[string]any{"type": "string"}
	if task.Output == lab.OutputLabel && len(task.Labels) > 0 {
		answer["enum"] = task.Labels
	}
	s := map[string]any{
		"type":                 "object",
		"properties":           map[string]any{"answer": answer},
		"required":             []string{"answer"},
		"additionalProperties": false,
	}
	b, _ := json.Marshal(s) // a map of plain values always marshals
	return b
}
