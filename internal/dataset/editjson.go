package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
)

// replacement puts text in place of raw[start:end] (an insertion when
// start == end).
type replacement struct {
	start, end int
	text       []byte
}

func apply(raw []byte, reps []replacement) []byte {
	// Replacements never overlap; applied back to front, the earlier
	// offsets stay valid.
	for i := 1; i < len(reps); i++ {
		for j := i; j > 0 && reps[j].start < reps[j-1].start; j-- {
			reps[j], reps[j-1] = reps[j-1], reps[j]
		}
	}
	out := append([]byte(nil), raw...)
	for i := len(reps) - 1; i >= 0; i-- {
		r := reps[i]
		out = append(out[:r.start], append(append([]byte(nil), r.text...), out[r.end:]...)...)
	}
	return out
}

// find returns the first member of keys that is present and not null, as
// the loader's rowReader.take picks it.
func find(raw []byte, members []member, keys []string) (member, bool) {
	for _, k := range keys {
		for _, m := range members {
			if m.key == k && kindOf(raw[m.val.start:m.val.end]) != "null" {
				return m, true
			}
		}
	}
	return member{}, false
}

func plainReplacements(raw []byte, members []member, opts LoadOptions, ex lab.Example, e RowEdit) ([]replacement, error) {
	var reps []replacement
	if e.Input != ex.Input {
		m, ok := find(raw, members, names(opts.Columns.Input, "input", "text"))
		if !ok {
			return nil, errors.New("the row has no input field")
		}
		reps = append(reps, replacement{m.val.start, m.val.end, jsonString(e.Input)})
	}
	if e.Expected != ex.Expected {
		keys := names(opts.Columns.Expected, "expected", "label")
		if m, ok := find(raw, members, keys); ok {
			reps = append(reps, replacement{m.val.start, m.val.end, expectedValue(raw[m.val.start:m.val.end], e.Expected)})
		} else {
			reps = append(reps, insertMember(raw, members, keys[0], jsonString(e.Expected)))
		}
	}
	return reps, nil
}

// alpacaReplacements splits the edited input back into instruction and
// input: the loader joins them with a blank line, so the part the user
// left alone is kept and the rest goes to the other field.
func alpacaReplacements(raw []byte, members []member, ex lab.Example, e RowEdit) ([]replacement, error) {
	var reps []replacement
	if e.Input != ex.Input {
		im, ok := find(raw, members, []string{"instruction"})
		if !ok {
			return nil, errors.New("the row has no instruction field")
		}
		instr := stringValue(raw[im.val.start:im.val.end])
		inm, hasInput := find(raw, members, []string{"input"})
		input := ""
		if hasInput {
			input = stringValue(raw[inm.val.start:inm.val.end])
		}
		newInstr, newInput := e.Input, input
		if strings.TrimSpace(input) != "" {
			rest, keepInstr := strings.CutPrefix(e.Input, instr+"\n\n")
			head, keepInput := strings.CutSuffix(e.Input, "\n\n"+input)
			switch {
			case keepInstr && strings.TrimSpace(rest) != "":
				newInstr, newInput = instr, rest
			case keepInput:
				newInstr = head
			default:
				newInstr, newInput, _ = strings.Cut(e.Input, "\n\n")
			}
		}
		if newInstr != instr {
			reps = append(reps, replacement{im.val.start, im.val.end, jsonString(newInstr)})
		}
		if hasInput && newInput != input {
			reps = append(reps, replacement{inm.val.start, inm.val.end, jsonString(newInput)})
		}
	}
	if e.Expected != ex.Expected {
		if m, ok := find(raw, members, []string{"output"}); ok {
			reps = append(reps, replacement{m.val.start, m.val.end, expectedValue(raw[m.val.start:m.val.end], e.Expected)})
		} else {
			reps = append(reps, insertMember(raw, members, "output", jsonString(e.Expected)))
		}
	}
	return reps, nil
}

// chatReplacements rewrites the one user message the input came from and
// the last assistant message, which holds the expected output.
func chatReplacements(raw []byte, members []member, ex lab.Example, e RowEdit) ([]replacement, error) {
	mm, ok := find(raw, members, []string{"messages"})
	if !ok {
		return nil, errors.New("the row has no messages")
	}
	elems, _, err := scanArray(raw, mm.val.start)
	if err != nil {
		return nil, err
	}
	var users []span
	lastAssistant := span{-1, -1}
	for _, el := range elems {
		fields, _, err := scanObject(raw, el.start)
		if err != nil {
			return nil, err
		}
		rm, _ := find(raw, fields, []string{"role"})
		cm, ok := find(raw, fields, []string{"content"})
		if !ok {
			continue
		}
		switch stringValue(raw[rm.val.start:rm.val.end]) {
		case "user":
			users = append(users, cm.val)
		case "assistant":
			lastAssistant = cm.val
		}
	}
	var reps []replacement
	if e.Input != ex.Input {
		if len(users) != 1 {
			return nil, badEdit("the input is joined from %d user messages, and one edited input cannot be split back into them; edit the messages in the file itself", len(users))
		}
		reps = append(reps, replacement{users[0].start, users[0].end, jsonString(e.Input)})
	}
	if e.Expected != ex.Expected {
		if lastAssistant.start < 0 {
			return nil, badEdit("the conversation has no assistant message to hold the expected answer; add one in the file itself")
		}
		reps = append(reps, replacement{lastAssistant.start, lastAssistant.end, jsonString(e.Expected)})
	}
	return reps, nil
}

// expectedValue writes an expected output as the field held it: JSON
// (a number, an object) stays JSON when the new text is JSON of that
// kind, else it becomes a string.
func expectedValue(old []byte, text string) []byte {
	k := kindOf(old)
	if k != "string" && k != "null" && json.Valid([]byte(text)) {
		if nk := kindOf([]byte(text)); nk != "string" {
			var b bytes.Buffer
			if json.Compact(&b, []byte(text)) == nil {
				return b.Bytes()
			}
		}
	}
	return jsonString(text)
}

func stringValue(raw []byte) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// jsonString encodes s as a JSON string, leaving <, > and & as they are
// (datasets are read by people).
func jsonString(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return bytes.TrimRight(b.Bytes(), "\n")
}

// insertMember adds "key": value after an object's last member, spaced
// like the members before it.
func insertMember(raw []byte, members []member, key string, value []byte) replacement {
	k := jsonString(key)
	if len(members) == 0 {
		open := bytes.IndexByte(raw, '{')
		return replacement{open + 1, open + 1, append(append(k, ':'), value...)}
	}
	last := members[len(members)-1]
	sep, colon := []byte(", "), raw[last.keySpan.end:last.val.start]
	if len(members) > 1 {
		sep = raw[members[len(members)-2].val.end:last.keySpan.start]
	}
	text := append(append(append(append([]byte(nil), sep...), k...), colon...), value...)
	return replacement{last.val.end, last.val.end, text}
}
