package score

import (
	"encoding/json"
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
)

const personSchema = `{
  "type": "object",
  "properties": {
    "name": {"type": "string", "minLength": 1},
    "age": {"type": "integer", "minimum": 0},
    "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}}
  },
  "required": ["name", "age"],
  "additionalProperties": false,
  "$defs": {"tag": {"type": "string", "enum": ["a", "b"]}}
}`

func TestJSONSchema(t *testing.T) {
	runCases(t, lab.ScorerSpec{Type: "json-schema", Schema: json.RawMessage(personSchema)}, Deps{}, []scoreCase{
		{name: "valid", answer: `{"name": "Ada", "age": 36}`, pass: true},
		{name: "valid with local ref", answer: `{"name": "Ada", "age": 36, "tags": ["a", "b"]}`, pass: true},
		{name: "inside a code fence", answer: "```json\n{\"name\": \"Ada\", \"age\": 36}\n```", pass: true},
		{name: "missing required field", answer: `{"name": "Ada"}`, pass: false, reason: "schema violation"},
		{name: "wrong type", answer: `{"name": "Ada", "age": "36"}`, pass: false, reason: "schema violation"},
		{name: "integer check is exact", answer: `{"name": "Ada", "age": 36.5}`, pass: false, reason: "schema violation"},
		{name: "extra field", answer: `{"name": "Ada", "age": 36, "x": 1}`, pass: false, reason: "schema violation"},
		{name: "enum through ref", answer: `{"name": "Ada", "age": 1, "tags": ["c"]}`, pass: false, reason: "schema violation"},
		{name: "not JSON", answer: `name: Ada`, pass: false, reason: "answer is not JSON"},
		{name: "trailing text", answer: `{"name": "Ada", "age": 36} Hope this helps!`, pass: false, reason: "text after the JSON"},
		{name: "empty answer", answer: "", pass: false, reason: "empty answer is not JSON"},
		{name: "unicode strings", answer: `{"name": "Ελένη", "age": 5}`, pass: true},
	}, false)
}

func TestJSONField(t *testing.T) {
	runCases(t, lab.ScorerSpec{Type: "json-field", Field: "result.label"}, Deps{}, []scoreCase{
		{name: "string field", expected: "positive", answer: `{"result": {"label": "positive"}}`, pass: true},
		{name: "normalised compare", expected: "not_spam", answer: `{"result": {"label": "Not Spam"}}`, pass: true},
		{name: "wrong value", expected: "positive", answer: `{"result": {"label": "negative"}}`, pass: false, reason: `field result.label is negative, expected "positive"`},
		{name: "missing field", expected: "positive", answer: `{"result": {}}`, pass: false, reason: "field result.label is missing"},
		{name: "parent not an object", expected: "positive", answer: `{"result": "positive"}`, pass: false, reason: "result is not an object or array"},
		{name: "not JSON", expected: "positive", answer: "positive", pass: false, reason: "not JSON"},
		{name: "fenced", expected: "positive", answer: "```\n{\"result\": {\"label\": \"positive\"}}\n```", pass: true},
	}, false)
	runCases(t, lab.ScorerSpec{Type: "json-field", Field: "items.1.price"}, Deps{}, []scoreCase{
		{name: "array index and number", expected: "3", answer: `{"items": [{"price": 1}, {"price": 3.0}]}`, pass: true},
		{name: "number by value", expected: "0.5", answer: `{"items": [{}, {"price": 5e-1}]}`, pass: true},
		{name: "different number", expected: "3", answer: `{"items": [{}, {"price": 30}]}`, pass: false},
		{name: "index out of range", expected: "3", answer: `{"items": [{"price": 3}]}`, pass: false, reason: `no element "1" in an array of 1`},
	}, false)
	runCases(t, lab.ScorerSpec{Type: "json-field", Field: "ok"}, Deps{}, []scoreCase{
		{name: "boolean", expected: "true", answer: `{"ok": true}`, pass: true},
		{name: "null", expected: "null", answer: `{"ok": null}`, pass: true},
		{name: "nested value rendered as JSON", expected: `["a","b"]`, answer: `{"ok": ["a", "b"]}`, pass: true},
	}, false)
}

func TestStripFence(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"json fence", "```json\n{}\n```", "{}"},
		{"bare fence", "```\n[1]\n```", "[1]"},
		{"no fence", " {} ", "{}"},
		{"one-line fence left alone", "```{}```", "```{}```"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := stripFence(tc.in); got != tc.want {
				t.Fatalf("stripFence(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
