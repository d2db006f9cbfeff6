package dataset

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
)

// chatRow reads an OpenAI chat row, the format fine-tuning APIs take: the
// last assistant message is the expected output, the user turns before it
// are the input, and system (or developer) turns are kept in
// meta["system"] so an export can put them back. Earlier assistant turns
// of a multi-turn conversation are not kept: an example has one input.
func (b *builder) chatRow(obj map[string]json.RawMessage) (lab.Example, string, string) {
	r := newRowReader(obj)
	var ex lab.Example
	var f, m string
	if ex.ID, f, m = r.id(names(b.cols.ID, "id")...); m != "" {
		return ex, f, m
	}
	_, raw, ok := r.take("messages")
	if !ok {
		return ex, "messages", "missing"
	}
	if k := kindOf(raw); k != "array" {
		return ex, "messages", "must be an array of messages, got " + k
	}
	var msgs []json.RawMessage
	if err := json.Unmarshal(raw, &msgs); err != nil {
		return ex, "messages", "invalid JSON: " + jsonMsg(err)
	}
	type turn struct{ role, content string }
	turns := make([]turn, 0, len(msgs))
	lastAssistant := -1
	for i, mraw := range msgs {
		at := fmt.Sprintf("messages[%d]", i)
		if k := kindOf(mraw); k != "object" {
			return ex, at, "must be an object with role and content, got " + k
		}
		var mobj map[string]json.RawMessage
		if err := json.Unmarshal(mraw, &mobj); err != nil {
			return ex, at, "invalid JSON: " + jsonMsg(err)
		}
		mr := newRowReader(mobj)
		role, f, m := mr.str(true, "role")
		if m != "" {
			return ex, at + "." + f, m
		}
		switch role {
		case "system", "developer", "user", "assistant":
		default:
			return ex, at + ".role", fmt.Sprintf("%q is not supported: use system, user or assistant (tool calls cannot be scored as one expected output)", role)
		}
		content, m := chatContent(mr)
		if m != "" {
			return ex, at + ".content", m
		}
		if role == "assistant" {
			lastAssistant = len(turns)
		}
		turns = append(turns, turn{role, content})
	}
	var system, users []string
	for i, t := range turns {
		switch {
		case t.role == "system" || t.role == "developer":
			system = append(system, t.content)
		case t.role == "user" && lastAssistant >= 0 && i > lastAssistant:
			return ex, fmt.Sprintf("messages[%d]", i), "a user turn after the last assistant message; the last message must be the assistant's answer"
		case t.role == "user":
			users = append(users, t.content)
		}
	}
	if len(users) == 0 {
		return ex, "messages", "no user message to use as the input"
	}
	ex.Input = strings.Join(users, "\n\n")
	if lastAssistant >= 0 {
		ex.Expected = turns[lastAssistant].content
	} else if !b.opts.NoExpected {
		return ex, "messages", "no assistant message to use as the expected output"
	}
	ex.Meta, f, m = r.meta()
	if m != "" {
		return ex, f, m
	}
	if len(system) > 0 {
		if ex.Meta == nil {
			ex.Meta = map[string]string{}
		}
		ex.Meta["system"] = strings.Join(system, "\n\n")
	}
	return ex, "", ""
}

// chatContent reads a message's content: a string, or an array of parts
// of which only text parts can be used.
func chatContent(mr *rowReader) (string, string) {
	_, raw, ok := mr.take("content")
	if !ok {
		return "", "missing"
	}
	switch k := kindOf(raw); k {
	case "string":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", "invalid JSON string: " + jsonMsg(err)
		}
		return s, ""
	case "array":
		var parts []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &parts); err != nil {
			return "", "must be a string or an array of text parts: " + jsonMsg(err)
		}
		var texts []string
		for i, p := range parts {
			pr := newRowReader(p)
			typ, _, m := pr.str(true, "type")
			if m != "" {
				return "", fmt.Sprintf("part %d: type %s", i, m)
			}
			if typ != "text" {
				return "", fmt.Sprintf("part %d: %q parts are not supported, only text", i, typ)
			}
			text, _, m := pr.str(true, "text")
			if m != "" {
				return "", fmt.Sprintf("part %d: text %s", i, m)
			}
			texts = append(texts, text)
		}
		return strings.Join(texts, "\n"), ""
	default:
		return "", "must be a string or an array of text parts, got " + k
	}
}
