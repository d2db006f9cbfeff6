package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/tunelab/tunelab/internal/lab"
)

// parseLines reads JSONL and chat JSONL: one JSON object per line, blank
// lines ignored.
func parseLines(b *builder, data []byte, format string) error {
	line := 0
	for len(data) > 0 {
		var row []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			row, data = data[:i], data[i+1:]
		} else {
			row, data = data, nil
		}
		line++
		row = bytes.TrimSpace(row)
		if len(row) == 0 {
			continue
		}
		if !utf8.Valid(row) {
			if err := b.bad(line, "", "not valid UTF-8 text; save the file as UTF-8"); err != nil {
				return err
			}
			continue
		}
		if k := kindOf(row); k != "object" {
			if err := b.bad(line, "", fmt.Sprintf("want a JSON object, got %s", k)); err != nil {
				return err
			}
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(row, &obj); err != nil {
			if err := b.bad(line, "", "invalid JSON: "+jsonMsg(err)); err != nil {
				return err
			}
			continue
		}
		if err := b.object(obj, line, format); err != nil {
			return err
		}
	}
	return nil
}

// parseArray reads a JSON array of objects (plain rows or Alpaca), keeping
// each object's line for error messages. A syntax error ends the read even
// under SkipBad: past it there is no telling where the next row starts.
func parseArray(b *builder, data []byte, format string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	lines := lineCounter{data: data, line: 1}
	fatal := func(off int64, msg string) error {
		return RowError{File: b.file, Line: lines.at(int(off)), Msg: msg}
	}
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil // an empty file: Parse reports that it holds no rows
		}
		return fatal(errOffset(err, dec), "invalid JSON: "+jsonMsg(err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return fatal(0, "want a JSON array of objects")
	}
	for dec.More() {
		start := nextValue(data, int(dec.InputOffset()))
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fatal(errOffset(err, dec), "invalid JSON: "+jsonMsg(err))
		}
		line := lines.at(start)
		if k := kindOf(raw); k != "object" {
			if err := b.bad(line, "", fmt.Sprintf("want a JSON object, got %s", k)); err != nil {
				return err
			}
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			return fatal(int64(start), "invalid JSON: "+jsonMsg(err))
		}
		if err := b.object(obj, line, format); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return fatal(errOffset(err, dec), "invalid JSON: "+jsonMsg(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fatal(dec.InputOffset(), "unexpected data after the closing ] of the array")
	}
	return nil
}

// object turns one decoded row into an example.
func (b *builder) object(obj map[string]json.RawMessage, line int, format string) error {
	var ex lab.Example
	var field, msg string
	switch format {
	case FormatChat:
		ex, field, msg = b.chatRow(obj)
	case FormatAlpaca:
		ex, field, msg = b.alpacaRow(obj)
	default:
		ex, field, msg = b.plainRow(obj)
	}
	if msg != "" {
		return b.bad(line, field, msg)
	}
	return b.add(ex, line)
}

// rowReader takes fields out of a row object; what is left over becomes
// metadata, so extra columns a team keeps (source, priority) survive.
type rowReader struct {
	obj  map[string]json.RawMessage
	used map[string]bool
}

func newRowReader(obj map[string]json.RawMessage) *rowReader {
	return &rowReader{obj: obj, used: map[string]bool{}}
}

// take returns the first present, non-null key of keys.
func (r *rowReader) take(keys ...string) (key string, raw json.RawMessage, ok bool) {
	for _, k := range keys {
		v, present := r.obj[k]
		if present {
			r.used[k] = true
		}
		if present && kindOf(v) != "null" {
			return k, v, true
		}
	}
	if len(keys) > 0 {
		key = keys[0]
	}
	return key, nil, false
}

// str reads a required or optional string field.
func (r *rowReader) str(required bool, keys ...string) (val, field, msg string) {
	key, raw, ok := r.take(keys...)
	if !ok {
		if required {
			return "", key, "missing"
		}
		return "", "", ""
	}
	if k := kindOf(raw); k != "string" {
		return "", key, "must be a string, got " + k
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", key, "invalid JSON string: " + jsonMsg(err)
	}
	return s, "", ""
}

// expected reads the expected output: text as is, numbers and booleans as
// written, objects and arrays as compact JSON for tasks with JSON output.
func (r *rowReader) expected(required bool, keys ...string) (val, field, msg string) {
	key, raw, ok := r.take(keys...)
	if !ok {
		if required {
			return "", key, "missing"
		}
		return "", "", ""
	}
	return scalarText(raw), "", ""
}

// id reads an optional id: a non-empty string or an integer.
func (r *rowReader) id(keys ...string) (val, field, msg string) {
	key, raw, ok := r.take(keys...)
	if !ok {
		return "", "", ""
	}
	switch k := kindOf(raw); k {
	case "string":
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", key, "invalid JSON string: " + jsonMsg(err)
		}
		if strings.TrimSpace(s) == "" {
			return "", key, "empty; give a non-empty id or leave the field out"
		}
		return s, "", ""
	case "number":
		s := string(raw)
		if strings.ContainsAny(s, ".eE") {
			return "", key, "must be a string or an integer, got " + s
		}
		return s, "", ""
	default:
		return "", key, "must be a string or an integer, got " + k
	}
}

// meta reads the "meta" object and adds every unused field to it.
func (r *rowReader) meta() (map[string]string, string, string) {
	out := map[string]string{}
	if _, raw, ok := r.take("meta"); ok {
		if kindOf(raw) != "object" {
			return nil, "meta", "must be an object, got " + kindOf(raw)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, "meta", "invalid JSON: " + jsonMsg(err)
		}
		for k, v := range m {
			if kindOf(v) != "null" {
				out[k] = scalarText(v)
			}
		}
	}
	for k, v := range r.obj {
		if r.used[k] || kindOf(v) == "null" {
			continue
		}
		if _, set := out[k]; !set { // the explicit meta object wins
			out[k] = scalarText(v)
		}
	}
	if len(out) == 0 {
		return nil, "", ""
	}
	return out, "", ""
}

func (b *builder) plainRow(obj map[string]json.RawMessage) (lab.Example, string, string) {
	r := newRowReader(obj)
	var ex lab.Example
	var f, m string
	if ex.ID, f, m = r.id(names(b.cols.ID, "id")...); m != "" {
		return ex, f, m
	}
	if ex.Input, f, m = r.str(true, names(b.cols.Input, "input", "text")...); m != "" {
		return ex, f, m
	}
	if ex.Expected, f, m = r.expected(!b.opts.NoExpected, names(b.cols.Expected, "expected", "label")...); m != "" {
		return ex, f, m
	}
	ex.Meta, f, m = r.meta()
	return ex, f, m
}

// alpacaRow reads {instruction, input, output}: the instruction and the
// optional input together are what the model is given.
func (b *builder) alpacaRow(obj map[string]json.RawMessage) (lab.Example, string, string) {
	r := newRowReader(obj)
	var ex lab.Example
	var f, m, instr, input string
	if ex.ID, f, m = r.id(names(b.cols.ID, "id")...); m != "" {
		return ex, f, m
	}
	if instr, f, m = r.str(true, "instruction"); m != "" {
		return ex, f, m
	}
	if input, f, m = r.str(false, "input"); m != "" {
		return ex, f, m
	}
	ex.Input = instr
	if strings.TrimSpace(input) != "" {
		ex.Input = instr + "\n\n" + input
	}
	if ex.Expected, f, m = r.expected(!b.opts.NoExpected, "output"); m != "" {
		return ex, f, m
	}
	ex.Meta, f, m = r.meta()
	return ex, f, m
}

// kindOf names the JSON type of a value by its first byte.
func kindOf(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch c := raw[0]; {
	case c == '{':
		return "object"
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || (c >= '0' && c <= '9'):
		return "number"
	default:
		return "invalid JSON"
	}
}

// scalarText renders a JSON value as text: strings unquoted, everything
// else as compact JSON.
func scalarText(raw json.RawMessage) string {
	if kindOf(raw) == "string" {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return string(bytes.TrimSpace(raw))
	}
	return buf.String()
}

func jsonMsg(err error) string {
	return strings.TrimPrefix(err.Error(), "json: ")
}

func errOffset(err error, dec *json.Decoder) int64 {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Offset
	}
	return dec.InputOffset()
}

// nextValue skips the separators between array elements.
func nextValue(data []byte, off int) int {
	for off < len(data) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
		default:
			return off
		}
	}
	return off
}

// lineCounter turns byte offsets into line numbers; offsets are asked for
// in increasing order, so the count never rescans.
type lineCounter struct {
	data []byte
	off  int
	line int
}

func (l *lineCounter) at(off int) int {
	if off > len(l.data) {
		off = len(l.data)
	}
	if off < l.off {
		l.off, l.line = 0, 1
	}
	l.line += bytes.Count(l.data[l.off:off], []byte{'\n'})
	l.off = off
	return l.line
}

// firstLineHas reports whether the first non-blank line is an object with key.
func firstLineHas(data []byte, key string) bool {
	for len(data) > 0 {
		var row []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			row, data = data[:i], data[i+1:]
		} else {
			row, data = data, nil
		}
		if row = bytes.TrimSpace(row); len(row) > 0 {
			var obj map[string]json.RawMessage
			if json.Unmarshal(row, &obj) != nil {
				return false
			}
			_, ok := obj[key]
			return ok
		}
	}
	return false
}

// firstElementHas reports whether a JSON array's first element is an
// object with key.
func firstElementHas(data []byte, key string) bool {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return false
	}
	if !dec.More() {
		return false
	}
	var obj map[string]json.RawMessage
	if dec.Decode(&obj) != nil {
		return false
	}
	_, ok := obj[key]
	return ok
}
