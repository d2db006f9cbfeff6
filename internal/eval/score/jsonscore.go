package score

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tunelab/tunelab/internal/lab"
)

// stripFence removes one Markdown code fence around a JSON answer
// (```json ... ```), which chat models add even when told not to; the JSON
// inside is what they were asked for.
func stripFence(s string) string {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "```") || !strings.HasSuffix(s, "```") || len(s) < 6 {
		return s
	}
	inner := s[3 : len(s)-3]
	// Drop the info string ("json") on the opening line.
	if nl := strings.IndexByte(inner, '\n'); nl >= 0 {
		inner = inner[nl+1:]
	} else {
		return s
	}
	return strings.TrimSpace(inner)
}

// parseJSON decodes an answer as one JSON document with numbers kept
// exact, as the schema validator expects.
func parseJSON(answer string) (any, error) {
	text := stripFence(answer)
	if text == "" {
		return nil, errors.New("empty answer is not JSON")
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("answer is not JSON: %v", err)
	}
	if dec.More() {
		return nil, errors.New("answer has text after the JSON document")
	}
	return v, nil
}

// noLoader refuses every external $ref, so a schema cannot make scoring
// read files or reach the network; schemas must be self-contained.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema refers to %s: external references are not loaded, inline the definition under $defs", url)
}

func newJSONSchema(spec lab.ScorerSpec, _ Deps) (scoreFunc, error) {
	if len(bytes.TrimSpace(spec.Schema)) == 0 {
		return nil, errors.New("schema is empty: set schema to the JSON Schema a passing answer must satisfy")
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(spec.Schema))
	if err != nil {
		return nil, fmt.Errorf("schema is not valid JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	const loc = "tunelab://scorer/schema.json"
	if err := c.AddResource(loc, doc); err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		return nil, fmt.Errorf("schema does not compile: %w", err)
	}
	return func(_ context.Context, _ lab.Example, answer string) (lab.Score, error) {
		v, err := parseJSON(answer)
		if err != nil {
			return binary(false, err.Error()), nil
		}
		if err := sch.Validate(v); err != nil {
			return binary(false, "schema violation: "+firstLines(err.Error(), 3)), nil
		}
		return binary(true, ""), nil
	}, nil
}

// firstLines keeps the start of a multi-line validator message.
func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = append(lines[:n], "…")
	}
	return clip(strings.Join(lines, " "), 300)
}

func newJSONField(spec lab.ScorerSpec, _ Deps) (scoreFunc, error) {
	path, err := splitPath(spec.Field)
	if err != nil {
		return nil, err
	}
	return func(_ context.Context, ex lab.Example, answer string) (lab.Score, error) {
		v, err := parseJSON(answer)
		if err != nil {
			return binary(false, err.Error()), nil
		}
		got, err := lookup(v, path)
		if err != nil {
			return binary(false, err.Error()), nil
		}
		if fieldEqual(got, ex.Expected) {
			return binary(true, ""), nil
		}
		return binary(false, fmt.Sprintf("field %s is %s, expected %q", spec.Field, clip(render(got), 80), clip(ex.Expected, 80))), nil
	}, nil
}

// splitPath parses a dot path such as "answer" or "items.0.name"; a
// numeric segment indexes an array.
func splitPath(field string) ([]string, error) {
	if strings.TrimSpace(field) == "" {
		return nil, errors.New("field is empty: set field to the dot path of the answer in the JSON, e.g. answer or result.label")
	}
	parts := strings.Split(field, ".")
	for _, p := range parts {
		if p == "" {
			return nil, fmt.Errorf("field %q has an empty segment: write a dot path like result.label", field)
		}
	}
	return parts, nil
}

func lookup(v any, path []string) (any, error) {
	cur := v
	for i, seg := range path {
		where := strings.Join(path[:i+1], ".")
		switch node := cur.(type) {
		case map[string]any:
			next, ok := node[seg]
			if !ok {
				return nil, fmt.Errorf("field %s is missing", where)
			}
			cur = next
		case []any:
			idx, err := strconv.Atoi(seg)
			if err != nil || idx < 0 || idx >= len(node) {
				return nil, fmt.Errorf("field %s: no element %q in an array of %d", where, seg, len(node))
			}
			cur = node[idx]
		default:
			return nil, fmt.Errorf("field %s: %s is not an object or array", where, strings.Join(path[:i], "."))
		}
	}
	return cur, nil
}

// render gives a JSON value's text: strings as they are, everything else
// in compact JSON.
func render(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// fieldEqual compares a JSON value with the expected text. Numbers compare
// by value ("3" equals 3.0), since normalising would delete the decimal
// point; everything else compares normalised.
func fieldEqual(got any, expected string) bool {
	if n, ok := got.(json.Number); ok {
		g, err1 := n.Float64()
		w, err2 := strconv.ParseFloat(strings.TrimSpace(expected), 64)
		if err1 == nil && err2 == nil {
			return g == w || math.Abs(g-w) <= 1e-9*math.Max(math.Abs(g), math.Abs(w))
		}
	}
	return Normalize(render(got)) == Normalize(expected)
}
