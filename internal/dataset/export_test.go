package dataset

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/lab"
	"github.com/tunelab/tunelab/internal/testutil/golden"
)

var exportSet = []lab.Example{
	{ID: "t1", Input: "I was charged twice <again> & again", Expected: "billing_refund", Meta: map[string]string{"channel": "email"}},
	{ID: "t2", Input: "Where is order 1042?", Expected: "shipping_delay", Meta: map[string]string{"system": "You route tickets."}},
	{ID: "t3", Input: "multi\nline", Expected: `{"team":"login"}`},
}

func TestExportGolden(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name   string
		write  func(path string) error
		golden string
	}{
		{"plain jsonl", func(p string) error { return WriteJSONL(p, exportSet) }, "export.jsonl.golden"},
		{"chat with a system prompt", func(p string) error { return WriteChatJSONL(p, exportSet, "Route the ticket.") }, "export-chat-system.jsonl.golden"},
		{"chat falls back to meta system", func(p string) error { return WriteChatJSONL(p, exportSet, "") }, "export-chat.jsonl.golden"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.golden)
			if err := tc.write(path); err != nil {
				t.Fatal(err)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, filepath.Join("testdata", tc.golden), data)
		})
	}
}

// TestRoundTrip checks that what the exports write loads back as the
// same examples.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name  string
		file  string
		write func(path string) error
		want  []lab.Example
	}{
		{name: "plain jsonl keeps everything", file: "out.jsonl",
			write: func(p string) error { return WriteJSONL(p, exportSet) }, want: exportSet},
		{name: "chat keeps input, expected and system", file: "chat.jsonl",
			write: func(p string) error { return WriteChatJSONL(p, exportSet[1:2], "") },
			want: []lab.Example{{ID: ContentID(exportSet[1].Input, exportSet[1].Expected), Input: exportSet[1].Input,
				Expected: exportSet[1].Expected, Meta: map[string]string{"system": "You route tickets."}}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.file)
			if err := tc.write(path); err != nil {
				t.Fatal(err)
			}
			ds, err := Load(path, LoadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for i := range ds.Examples {
				ds.Examples[i].Source, ds.Examples[i].Line = "", 0
			}
			if !reflect.DeepEqual(ds.Examples, tc.want) {
				t.Errorf("loaded\n%+v\nwant\n%+v", ds.Examples, tc.want)
			}
			if ds.Version != Version(tc.want) {
				t.Errorf("version %s, want %s", ds.Version, Version(tc.want))
			}
		})
	}
}

func TestExportReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "train.jsonl")
	if err := os.WriteFile(path, []byte("old content that is longer than the new one, many bytes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSONL(path, exportSet[:1]); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if strings.Contains(string(data), "old content") || !strings.HasPrefix(string(data), `{"id":"t1"`) {
		t.Errorf("file holds %q", data)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the file (no temporary left)", len(entries))
	}
}

func TestExportChatNeedsExpected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "chat.jsonl")
	err := WriteChatJSONL(path, []lab.Example{{ID: "x", Input: "hi", Source: "in.jsonl", Line: 4}}, "")
	if err == nil || !strings.Contains(err.Error(), "example x (line 4) has no expected output") {
		t.Errorf("err = %v, want it to name the example and its line", err)
	}
	if _, statErr := os.Stat(path); !os.IsNotExist(statErr) {
		t.Errorf("a failed export left %s behind", path)
	}
}

func TestWriteOntoDirectory(t *testing.T) {
	dir := t.TempDir()
	exs := []lab.Example{{ID: "a", Input: "x", Expected: "y"}}
	writers := []struct {
		name  string
		write func(string) error
	}{
		{"jsonl", func(p string) error { return WriteJSONL(p, exs) }},
		{"chat", func(p string) error { return WriteChatJSONL(p, exs, "") }},
	}
	for _, tc := range writers {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.write(dir)
			want := "export " + dir + ": it is a directory: give the path of a file to write"
			if err == nil || err.Error() != want {
				t.Fatalf("got %v, want %q", err, want)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("left %d files behind in the directory", len(left))
			}
		})
	}
}
