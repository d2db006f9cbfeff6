package dataset

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// fuzzLoad parses data in one format, strictly and skipping bad rows, and
// checks what any successful load must hold. Seeds come from testdata/load
// and the corpus under testdata/fuzz.
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
		strict, strictErr := Parse("fuzz", data, LoadOptions{Format: format})
		loose, looseErr := Parse("fuzz", data, LoadOptions{Format: format, SkipBad: true})
		for _, ds := range []*Dataset{strict, loose} {
			if ds == nil {
				continue
			}
			if len(ds.Examples) == 0 {
				t.Fatal("a successful load holds no examples")
			}
			seen := map[string]bool{}
			for _, ex := range ds.Examples {
				if ex.ID == "" || seen[ex.ID] {
					t.Fatalf("id %q empty or repeated", ex.ID)
				}
				seen[ex.ID] = true
				if ex.Line < 1 || ex.Line > lines {
					t.Fatalf("example %s on line %d of %d", ex.ID, ex.Line, lines)
				}
			}
			if ds.Version != Version(ds.Examples) {
				t.Fatal("version does not match the examples")
			}
			for _, s := range ds.Skipped {
				if s.Line < 0 || s.Line > lines || s.Msg == "" {
					t.Fatalf("skipped row %+v outside the file or without a message", s)
				}
			}
		}
		if strictErr == nil {
			if len(strict.Skipped) != 0 {
				t.Fatal("a strict load skipped rows")
			}
			if looseErr != nil || len(loose.Skipped) != 0 || !reflect.DeepEqual(strict.Examples, loose.Examples) {
				t.Fatalf("a clean file loads differently with SkipBad: %v", looseErr)
			}
		} else if strictErr.Error() == "" {
			t.Fatal("an error with no message")
		}
	})
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

func FuzzLoadAlpaca(f *testing.F) {
	fuzzLoad(f, FormatAlpaca,
		`[{"instruction":"a","input":"b","output":"c"}]`,
		"[\n{\"instruction\":\"a\",\"output\":1},\n3,\n{\"output\":\"x\"}\n]",
		`[{"instruction":"a","output":"c"}] trailing`,
		`[{"instruction":"a",`,
	)
}
