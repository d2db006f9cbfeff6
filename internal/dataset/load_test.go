package dataset

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/testutil/golden"
)

func describeExamples(exs []lab.Example) string {
	var b strings.Builder
	for _, ex := range exs {
		fmt.Fprintf(&b, "  line %d id=%s input=%q expected=%q", ex.Line, ex.ID, ex.Input, ex.Expected)
		if len(ex.Meta) > 0 {
			keys := make([]string, 0, len(ex.Meta))
			for k := range ex.Meta {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			b.WriteString(" meta={")
			for i, k := range keys {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "%s: %q", k, ex.Meta[k])
			}
			b.WriteString("}")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestLoadGolden loads every file in testdata/load and keeps what was read
// in testdata/load.golden, so any change in how a format is read shows up
// in review.
func TestLoadGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "load", "*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	want := map[string]struct {
		format string
		n      int
	}{
		"alpaca.json":   {FormatAlpaca, 3},
		"chat.jsonl":    {FormatChat, 3},
		"crlf.jsonl":    {FormatJSONL, 2},
		"plain.json":    {FormatJSON, 2},
		"tickets.csv":   {FormatCSV, 3},
		"tickets.jsonl": {FormatJSONL, 6},
		"tickets.tsv":   {FormatTSV, 2},
	}
	var got strings.Builder
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			ds, err := Load(f, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			w, ok := want[name]
			if !ok {
				t.Fatalf("no expectation for %s: add it to the table", name)
			}
			if ds.Format != w.format || len(ds.Examples) != w.n {
				t.Errorf("format %s with %d examples, want %s with %d", ds.Format, len(ds.Examples), w.format, w.n)
			}
			fmt.Fprintf(&got, "=== %s format=%s version=%s\n%s", name, ds.Format, ds.Version, describeExamples(ds.Examples))
		})
	}
	golden.Check(t, filepath.Join("testdata", "load.golden"), got.String())
}

func TestLoadDetails(t *testing.T) {
	ds, err := Load(filepath.Join("testdata", "load", "tickets.jsonl"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byLine := map[int]lab.Example{}
	for _, ex := range ds.Examples {
		byLine[ex.Line] = ex
	}
	cases := []struct {
		name       string
		line       int
		id, exp    string
		meta       map[string]string
		derivedID  bool
		wantSource bool
	}{
		{name: "given id", line: 1, id: "t1", exp: "billing"},
		{name: "label alias and derived id", line: 2, exp: "shipping", derivedID: true},
		{name: "integer id and scalar meta", line: 4, id: "7", exp: "login", meta: map[string]string{"channel": "email", "priority": "2"}},
		{name: "number expected and extra field to meta", line: 5, exp: "42", meta: map[string]string{"source": "quiz"}, derivedID: true},
		{name: "object expected as compact JSON", line: 6, exp: `{"order":"5531"}`, derivedID: true},
		{name: "null meta value dropped", line: 7, exp: "ok", derivedID: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ex, ok := byLine[tc.line]
			if !ok {
				t.Fatalf("no example from line %d", tc.line)
			}
			if tc.derivedID {
				if want := ContentID(ex.Input, ex.Expected); ex.ID != want {
					t.Errorf("id %s, want derived %s", ex.ID, want)
				}
			} else if ex.ID != tc.id {
				t.Errorf("id %s, want %s", ex.ID, tc.id)
			}
			if ex.Expected != tc.exp {
				t.Errorf("expected %q, want %q", ex.Expected, tc.exp)
			}
			if fmt.Sprint(ex.Meta) != fmt.Sprint(tc.meta) && !(len(ex.Meta) == 0 && len(tc.meta) == 0) {
				t.Errorf("meta %v, want %v", ex.Meta, tc.meta)
			}
			if ex.Source != ds.Path {
				t.Errorf("source %q, want %q", ex.Source, ds.Path)
			}
		})
	}
}

func TestVersionAndIDsStable(t *testing.T) {
	a := []byte("{\"input\": \"one\", \"expected\": \"x\"}\n{\"input\": \"two\", \"expected\": \"y\"}\n")
	moved := []byte("\n\n{\"expected\": \"x\", \"input\": \"one\"}\n{\"input\": \"two\", \"expected\": \"y\"}\n")
	swapped := []byte("{\"input\": \"two\", \"expected\": \"y\"}\n{\"input\": \"one\", \"expected\": \"x\"}\n")
	edited := []byte("{\"input\": \"one\", \"expected\": \"x\"}\n{\"input\": \"two!\", \"expected\": \"y\"}\n")
	load := func(data []byte) *Dataset {
		t.Helper()
		ds, err := Parse("a.jsonl", data, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	base := load(a)
	cases := []struct {
		name        string
		data        []byte
		sameVersion bool
	}{
		{"same content on other lines and key order", moved, true},
		{"rows swapped", swapped, false},
		{"one row edited", edited, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ds := load(tc.data)
			if (ds.Version == base.Version) != tc.sameVersion {
				t.Errorf("version %s vs %s, want same=%v", ds.Version, base.Version, tc.sameVersion)
			}
			ids := map[string]bool{}
			for _, ex := range ds.Examples {
				ids[ex.ID] = true
			}
			if !ids[base.Examples[0].ID] {
				t.Errorf("row \"one\" lost its id %s: %v", base.Examples[0].ID, ids)
			}
		})
	}
}

// TestLoadErrors feeds malformed files in every format. Each case checks
// the first error's text; testdata/errors.golden keeps every case's text
// with and without SkipBad.
func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name string
		file string
		data string
		opts LoadOptions
		want string // the error without SkipBad; "" when the load succeeds
	}{
		{name: "jsonl missing input", file: "tickets.jsonl",
			data: "{\"input\": \"a\", \"expected\": \"x\"}\n{\"expected\": \"x\"}\n{\"input\": \"c\", \"expected\": \"y\"}\n",
			want: `tickets.jsonl:2: field "input": missing`},
		{name: "jsonl input not a string", file: "t.jsonl", data: `{"input": ["a"], "expected": "x"}`,
			want: `t.jsonl:1: field "input": must be a string, got array`},
		{name: "jsonl input null", file: "t.jsonl", data: `{"input": null, "expected": "x"}`,
			want: `t.jsonl:1: field "input": missing`},
		{name: "jsonl invalid JSON", file: "t.jsonl", data: "{\"input\": \"a\", \"expected\": \"x\"}\n{\"input\": \"b\" \"expected\": \"x\"}\n",
			want: `t.jsonl:2: invalid JSON: invalid character '"' after object key:value pair`},
		{name: "jsonl row not an object", file: "t.jsonl", data: "[\"a\", \"x\"]\n",
			want: `t.jsonl:1: want a JSON object, got array`},
		{name: "jsonl missing expected", file: "t.jsonl", data: `{"input": "a"}`,
			want: `t.jsonl:1: field "expected": missing`},
		{name: "jsonl missing expected allowed", file: "t.jsonl", data: `{"input": "a"}`, opts: LoadOptions{NoExpected: true}},
		{name: "jsonl duplicate id", file: "t.jsonl", data: "{\"id\": \"a\", \"input\": \"a\", \"expected\": \"x\"}\n{\"id\": \"a\", \"input\": \"b\", \"expected\": \"x\"}\n",
			want: `t.jsonl:2: field "id": duplicate id "a" (first used on line 1); ids must be unique`},
		{name: "jsonl duplicate row without ids", file: "t.jsonl", data: "{\"input\": \"a\", \"expected\": \"x\"}\n\n{\"input\": \"a\", \"expected\": \"x\"}\n",
			want: `t.jsonl:3: duplicate row: same input and expected as line 1; remove one (or give them distinct ids)`},
		{name: "jsonl empty id", file: "t.jsonl", data: `{"id": " ", "input": "a", "expected": "x"}`,
			want: `t.jsonl:1: field "id": empty; give a non-empty id or leave the field out`},
		{name: "jsonl fractional id", file: "t.jsonl", data: `{"id": 1.5, "input": "a", "expected": "x"}`,
			want: `t.jsonl:1: field "id": must be a string or an integer, got 1.5`},
		{name: "jsonl meta not an object", file: "t.jsonl", data: `{"input": "a", "expected": "x", "meta": "web"}`,
			want: `t.jsonl:1: field "meta": must be an object, got string`},
		{name: "jsonl invalid UTF-8", file: "t.jsonl", data: "{\"input\": \"caf\xe9\", \"expected\": \"x\"}\n",
			want: `t.jsonl:1: not valid UTF-8 text; save the file as UTF-8`},
		{name: "jsonl custom field names", file: "t.jsonl", data: `{"question": "a", "answer": "x", "label": "kept in meta"}`,
			opts: LoadOptions{Columns: Columns{Input: "question", Expected: "answer"}}},
		{name: "jsonl custom field missing", file: "t.jsonl", data: `{"input": "a", "answer": "x"}`,
			opts: LoadOptions{Columns: Columns{Input: "question", Expected: "answer"}},
			want: `t.jsonl:1: field "question": missing`},
		{name: "chat no assistant", file: "c.jsonl", data: `{"messages": [{"role": "user", "content": "hi"}]}`,
			want: `c.jsonl:1: field "messages": no assistant message to use as the expected output`},
		{name: "chat user after assistant", file: "c.jsonl",
			data: `{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "x"}, {"role": "user", "content": "more"}]}`,
			want: `c.jsonl:1: field "messages[2]": a user turn after the last assistant message; the last message must be the assistant's answer`},
		{name: "chat tool role", file: "c.jsonl",
			data: `{"messages": [{"role": "user", "content": "hi"}, {"role": "tool", "content": "{}"}, {"role": "assistant", "content": "x"}]}`,
			want: `c.jsonl:1: field "messages[1].role": "tool" is not supported: use system, user or assistant (tool calls cannot be scored as one expected output)`},
		{name: "chat content missing", file: "c.jsonl",
			data: `{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "tool_calls": []}]}`,
			want: `c.jsonl:1: field "messages[1].content": missing`},
		{name: "chat image part", file: "c.jsonl",
			data: `{"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}, {"role": "assistant", "content": "x"}]}`,
			want: `c.jsonl:1: field "messages[0].content": part 0: "image_url" parts are not supported, only text`},
		{name: "chat messages not an array", file: "c.jsonl", data: `{"messages": {"role": "user"}}`,
			want: `c.jsonl:1: field "messages": must be an array of messages, got object`},
		{name: "chat no user", file: "c.jsonl", data: `{"messages": [{"role": "system", "content": "s"}, {"role": "assistant", "content": "x"}]}`,
			want: `c.jsonl:1: field "messages": no user message to use as the input`},
		{name: "chat row without messages", file: "c.jsonl", opts: LoadOptions{Format: "openai"},
			data: `{"input": "a", "expected": "x"}`,
			want: `c.jsonl:1: field "messages": missing`},
		{name: "csv short row", file: "data.csv", data: "id,input,expected\n1,a,x\n2,b,x\n3,c,x\n4,d,x\n5,e,x\n6,f,x\n7,g,x\n8,h\n9,i,x\n",
			want: `data.csv:9: expected 3 columns, got 2`},
		{name: "csv no input column", file: "data.csv", data: "question,label\na,x\n",
			want: `data.csv:1: no "input" or "text" column for the input (the header has "question", "label"); rename a column or set the input column's name`},
		{name: "csv no expected column", file: "data.csv", data: "input,answer\na,x\n",
			want: `data.csv:1: no "expected" or "label" column for the expected output (the header has "input", "answer"); rename a column or set the expected output column's name`},
		{name: "csv named id column missing", file: "data.csv", data: "input,expected\na,x\n", opts: LoadOptions{Columns: Columns{ID: "ticket"}},
			want: `data.csv:1: no "ticket" column for the id (the header has "input", "expected"); rename a column or set the id column's name`},
		{name: "csv bare quote", file: "data.csv", data: "input,expected\na \"quoted\" word,x\nb,y\n",
			want: `data.csv:2: bare " in non-quoted-field`},
		{name: "csv duplicate header", file: "data.csv", data: "input,Input,expected\na,b,x\n",
			want: `data.csv:1: column "Input" appears twice in the header`},
		{name: "csv unnamed column", file: "data.csv", data: "input,,expected\na,b,x\n",
			want: `data.csv:1: column 2 has no name; the first row must name every column`},
		{name: "csv invalid UTF-8", file: "data.csv", data: "input,expected\ncaf\xe9,x\n",
			want: `data.csv:2: field "input": not valid UTF-8 text; save the file as UTF-8`},
		{name: "csv custom columns", file: "data.csv", data: "Question,Answer,Ticket\na,x,T-1\n",
			opts: LoadOptions{Columns: Columns{Input: "question", Expected: "answer", ID: "ticket"}}},
		{name: "alpaca missing instruction", file: "a.json",
			data: "[\n  {\"instruction\": \"a\", \"output\": \"x\"},\n  {\"input\": \"b\", \"output\": \"x\"}\n]\n",
			want: `a.json:3: field "instruction": missing`},
		{name: "alpaca missing output", file: "a.json", data: "[{\"instruction\": \"a\", \"input\": \"b\"}]",
			want: `a.json:1: field "output": missing`},
		{name: "alpaca syntax error", file: "a.json",
			data: "[\n{\"instruction\": \"a\", \"output\": \"x\"},\n{\"instruction\": \"b\", \"output\": }\n]\n",
			want: `a.json:3: invalid JSON: invalid character '}' looking for beginning of value`},
		{name: "alpaca element not an object", file: "a.json", data: "[{\"instruction\": \"a\", \"output\": \"x\"},\n 3]",
			want: `a.json:2: want a JSON object, got number`},
		{name: "json not an array", file: "p.json", data: `{"input": "a", "expected": "x"}`,
			want: `p.json:1: want a JSON array of objects`},
		{name: "json data after the array", file: "p.json", data: "[{\"input\": \"a\", \"expected\": \"x\"}]\n[]",
			want: `p.json:2: unexpected data after the closing ] of the array`},
		{name: "unknown extension", file: "data.txt", data: "hello",
			want: `load dataset data.txt: cannot tell the format from the extension ".txt": name the file .jsonl, .csv, .tsv or .json, or set the format (jsonl, chat, csv, tsv, json, alpaca)`},
		{name: "unknown format", file: "data.jsonl", data: "{}", opts: LoadOptions{Format: "parquet"},
			want: `load dataset data.jsonl: unknown format "parquet": use one of jsonl, chat, csv, tsv, json, alpaca`},
		{name: "empty file", file: "t.jsonl", data: "\n\n",
			want: `load dataset t.jsonl: no examples: the file holds no rows`},
		{name: "csv header only", file: "t.csv", data: "input,expected\n",
			want: `load dataset t.csv: no examples: the file holds no rows`},
	}
	var got strings.Builder
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			strict := tc.opts
			strict.SkipBad = false
			ds, err := Parse(tc.file, []byte(tc.data), strict)
			fmt.Fprintf(&got, "=== %s (%s)\n", tc.name, tc.file)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.want == "":
				fmt.Fprintf(&got, "strict: ok\n%s", describeExamples(ds.Examples))
			case err == nil:
				t.Fatalf("loaded %d examples, want error %q", len(ds.Examples), tc.want)
			case err.Error() != tc.want:
				t.Errorf("error\n  %s\nwant\n  %s", err, tc.want)
			}
			if err != nil {
				fmt.Fprintf(&got, "strict: %v\n", err)
				var re RowError
				if !strings.HasPrefix(tc.want, "load dataset") && !errors.As(err, &re) {
					t.Errorf("error %v is not a RowError", err)
				}
			}
			skip := tc.opts
			skip.SkipBad = true
			ds, err = Parse(tc.file, []byte(tc.data), skip)
			if err != nil {
				fmt.Fprintf(&got, "skip-bad: %v\n", err)
				return
			}
			fmt.Fprintf(&got, "skip-bad: %d loaded, %d skipped\n", len(ds.Examples), len(ds.Skipped))
			for _, s := range ds.Skipped {
				fmt.Fprintf(&got, "  skipped %v\n", s)
			}
			if tc.want != "" && len(ds.Skipped) > 0 && ds.Skipped[0].Error() != tc.want {
				t.Errorf("first skipped row %q, want %q", ds.Skipped[0].Error(), tc.want)
			}
		})
	}
	golden.Check(t, filepath.Join("testdata", "errors.golden"), got.String())
}

func TestRowErrorFields(t *testing.T) {
	_, err := Parse("tickets.jsonl", []byte("{\"input\": \"a\", \"expected\": \"x\"}\n{\"expected\": \"x\"}\n"), LoadOptions{})
	var re RowError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a RowError", err)
	}
	if re.File != "tickets.jsonl" || re.Line != 2 || re.Field != "input" || re.Msg != "missing" {
		t.Errorf("RowError %+v, want tickets.jsonl line 2 field input msg missing", re)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.jsonl"), LoadOptions{})
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.jsonl") {
		t.Errorf("err = %v, want a not-exist error naming the file", err)
	}
}
