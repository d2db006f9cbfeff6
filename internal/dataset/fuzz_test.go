package dataset

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fuzzName is the file name the fuzzed bytes are parsed under: distinctive,
// so an error that forgot to say which file it is about cannot pass by
// naming some other path.
const fuzzName = "fuzzdir/rows-under-test"

// lineRef finds "name:LINE:" at the start of a row error's text.
var lineRef = regexp.MustCompile(`^` + regexp.QuoteMeta(fuzzName) + `:(\d+): `)

// fuzzLoad parses data in one format, strictly and skipping bad rows, and
// checks what any load must hold: no panic, an error names the file and,
// for a malformed row, a line inside it; a success holds unique ids on
// real lines. Seeds come from testdata/load and the corpus under
// testdata/fuzz.
func fuzzLoad(f *testing.F, format string, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "load", "*"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := bytes.Count(data, []byte{'\n'}) + 1
		strict, strictErr := Parse(fuzzName, data, LoadOptions{Format: format})
		loose, looseErr := Parse(fuzzName, data, LoadOptions{Format: format, SkipBad: true})
		checkLoadErr(t, strictErr, lines)
		checkLoadErr(t, looseErr, lines)
		for _, ds := range []*Dataset{strict, loose} {
			if ds == nil {
				continue
			}
			checkDataset(t, ds, lines)
		}
		if strictErr == nil {
			if len(strict.Skipped) != 0 {
				t.Fatal("a strict load skipped rows")
			}
			if looseErr != nil || len(loose.Skipped) != 0 || !reflect.DeepEqual(strict.Examples, loose.Examples) {
				t.Fatalf("a clean file loads differently with SkipBad: %v", looseErr)
			}
		}
	})
}

// checkLoadErr holds an error to what a user needs to fix the file: one
// line, naming the file, and a line number inside the file when it is
// about a row.
func checkLoadErr(t *testing.T, err error, lines int) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	if !strings.Contains(msg, fuzzName) {
		t.Fatalf("error does not name the file: %q", msg)
	}
	if strings.ContainsAny(msg, "\r\n") {
		t.Fatalf("error is not one line: %q", msg)
	}
	var re RowError
	if errors.As(err, &re) {
		if re.File != fuzzName || re.Line < 1 || re.Line > lines || re.Msg == "" {
			t.Fatalf("row error %+v outside the file's %d lines or without a message", re, lines)
		}
		m := lineRef.FindStringSubmatch(msg)
		if m == nil {
			t.Fatalf("row error does not start with file:line: %q", msg)
		}
		if n, _ := strconv.Atoi(m[1]); n != re.Line {
			t.Fatalf("row error text says line %s, the error line %d", m[1], re.Line)
		}
	}
}

func checkDataset(t *testing.T, ds *Dataset, lines int) {
	t.Helper()
	if len(ds.Examples) == 0 {
		t.Fatal("a successful load holds no examples")
	}
	seen := map[string]bool{}
	for _, ex := range ds.Examples {
		if ex.ID == "" || seen[ex.ID] {
			t.Fatalf("id %q empty or repeated", ex.ID)
		}
		seen[ex.ID] = true
		if ex.Line < 1 || ex.Line > lines || ex.Source != fuzzName {
			t.Fatalf("example %s from %s:%d, file has %d lines", ex.ID, ex.Source, ex.Line, lines)
		}
	}
	if ds.Version != Version(ds.Examples) {
		t.Fatal("version does not match the examples")
	}
	for _, s := range ds.Skipped {
		if s.File != fuzzName || s.Line < 1 || s.Line > lines || s.Msg == "" {
			t.Fatalf("skipped row %+v outside the file's %d lines or without a message", s, lines)
		}
	}
}

func FuzzLoadJSONL(f *testing.F) {
	fuzzLoad(f, FormatJSONL,
		`{"input":"a","expected":"b"}`,
		"{\"id\":1,\"input\":\"a\",\"label\":2,\"meta\":{\"k\":[1]}}\n\n{\"input\":\"a\"}",
		`{"input":"a","expected":"b"}`+"\n"+`{"input":"a","expected":"b"}`,
		"[1]\n\"s\"\nnull\n{",
	)
}

func FuzzLoadChat(f *testing.F) {
	fuzzLoad(f, FormatChat,
		`{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}`,
		`{"messages":[{"role":"system","content":"s"},{"role":"user","content":[{"type":"text","text":"a"}]},{"role":"assistant","content":"b"}]}`,
		`{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":null}]}`,
		`{"messages":[{"role":"user"},{"role":5}]}`,
	)
}

func FuzzLoadCSV(f *testing.F) {
	fuzzLoad(f, FormatCSV,
		"input,expected\na,b\n",
		"id,text,label,x\n1,\"a\nb\",c,d\n,,,\n2,e\n",
		"input,expected\n\"unterminated,b\n",
		"input,input\n",
	)
}

func FuzzLoadTSV(f *testing.F) {
	fuzzLoad(f, FormatTSV,
		"input\texpected\na\tb\n",
		"id\ttext\tlabel\n1\t\"quoted\ttab\"\tc\n2\tx\n",
		"input\texpected\n\"a\"b\"\tc\n",
	)
}

func FuzzLoadJSON(f *testing.F) {
	fuzzLoad(f, FormatJSON,
		`[{"input":"a","expected":"b"}]`,
		"[\n {\"id\":\"x\",\"text\":\"a\",\"label\":true},\n {\"id\":\"x\",\"input\":\"b\",\"expected\":[1]}\n]",
		`[]`,
		"[{\"input\":\"a\",\"expected\":\"b\"},]",
	)
}

func FuzzLoadAlpaca(f *testing.F) {
	fuzzLoad(f, FormatAlpaca,
		`[{"instruction":"a","input":"b","output":"c"}]`,
		"[\n{\"instruction\":\"a\",\"output\":1},\n3,\n{\"output\":\"x\"}\n]",
		`[{"instruction":"a","output":"c"}] trailing`,
		`[{"instruction":"a",`,
	)
}

// FuzzLoadDetect covers the path a user takes without naming a format:
// the extension and the first row decide how the file is read, so a row
// that looks like one format and continues as another must still fail
// cleanly.
func FuzzLoadDetect(f *testing.F) {
	exts := []string{".jsonl", ".ndjson", ".csv", ".tsv", ".json", ".txt", ""}
	files, _ := filepath.Glob(filepath.Join("testdata", "load", "*"))
	for i, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(uint8(i), data)
		}
	}
	f.Add(uint8(0), []byte("{\"messages\":[]}\n{\"input\":\"a\",\"expected\":\"b\"}\n"))
	f.Add(uint8(4), []byte("[{\"instruction\":\"a\",\"output\":\"b\"},{\"input\":\"c\",\"expected\":\"d\"}]"))
	f.Fuzz(func(t *testing.T, ext uint8, data []byte) {
		name := fuzzName + exts[int(ext)%len(exts)]
		lines := bytes.Count(data, []byte{'\n'}) + 1
		ds, err := Parse(name, data, LoadOptions{})
		if err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Fatalf("error does not name the file %s: %q", name, err)
			}
			var re RowError
			if errors.As(err, &re) && (re.Line < 1 || re.Line > lines) {
				t.Fatalf("row error %+v outside the file's %d lines", re, lines)
			}
			return
		}
		if len(ds.Examples) == 0 || ds.Path != name {
			t.Fatalf("a successful load of %s holds %d examples, path %s", name, len(ds.Examples), ds.Path)
		}
	})
}
