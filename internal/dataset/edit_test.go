package dataset

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/testutil/golden"
)

// TestEditRow edits one row of a file in every format; the whole new file
// is kept in testdata/edit/NAME.golden, so a byte changed outside the row
// shows up in review.
func TestEditRow(t *testing.T) {
	for _, tc := range []struct {
		name      string
		file      string
		opts      LoadOptions
		edit      RowEdit
		idChanged bool
	}{
		{"jsonl-explicit-id", "load/tickets.jsonl", LoadOptions{},
			RowEdit{ID: "t1", Input: "I was charged twice for order 1042", Expected: "refund"}, false},
		{"jsonl-derived-id-label-key", "load/tickets.jsonl", LoadOptions{},
			RowEdit{ID: ContentID("Parcel still not here after 9 days", "shipping"), Input: "Parcel still not here after 12 days", Expected: "shipping"}, true},
		{"jsonl-number-stays-number", "load/tickets.jsonl", LoadOptions{},
			RowEdit{ID: ContentID("What is 6 times 7?", "42"), Input: "What is 6 times 7?", Expected: "43"}, true},
		{"jsonl-object-expected", "load/tickets.jsonl", LoadOptions{},
			RowEdit{ID: ContentID("Extract the order number: order #5531 is late", `{"order":"5531"}`), Input: "Extract the order number: order #5531 is late", Expected: `{"order": "5532"}`}, true},
		{"jsonl-html-and-quotes", "load/tickets.jsonl", LoadOptions{},
			RowEdit{ID: ContentID("Rate <this> & that", "ok"), Input: `Rate <this> & "that"`, Expected: "ok"}, true},
		{"jsonl-integer-id", "load/tickets.jsonl", LoadOptions{},
			RowEdit{ID: "7", Input: "cannot log in, the code never arrives", Expected: "login"}, false},
		{"jsonl-crlf", "load/crlf.jsonl", LoadOptions{},
			RowEdit{ID: ContentID("second", "crlf"), Input: "second, edited", Expected: "crlf"}, true},
		{"jsonl-adds-missing-expected", "edit/unlabelled.jsonl", LoadOptions{NoExpected: true},
			RowEdit{ID: "u2", Input: "also none", Expected: "billing"}, false},
		{"chat-system-user-assistant", "load/chat.jsonl", LoadOptions{},
			RowEdit{ID: ContentID("My refund never showed up", "billing"), Input: "My refund never arrived", Expected: "refunds"}, true},
		{"chat-text-parts", "load/chat.jsonl", LoadOptions{},
			RowEdit{ID: "c2", Input: "Where is my parcel now?", Expected: "shipping"}, false},
		{"chat-two-user-turns-expected-only", "load/chat.jsonl", LoadOptions{},
			RowEdit{ID: ContentID("Hi\n\nI forgot my password", "login"), Input: "Hi\n\nI forgot my password", Expected: "account"}, true},
		{"csv-quoted-cell", "load/tickets.csv", LoadOptions{},
			RowEdit{ID: "a1", Input: `Charged "twice", please fix`, Expected: "billing"}, false},
		{"csv-multiline-record", "load/tickets.csv", LoadOptions{},
			RowEdit{ID: "a2", Input: "Line one\nline two\nand three", Expected: "delivery"}, false},
		{"csv-derived-id", "load/tickets.csv", LoadOptions{},
			RowEdit{ID: ContentID("no id on this row", "login"), Input: "no id on this row", Expected: "account"}, true},
		{"csv-bom-crlf", "edit/bom.csv", LoadOptions{},
			RowEdit{ID: "b2", Input: "second, with a comma", Expected: "gamma"}, false},
		{"tsv-needs-quotes", "load/tickets.tsv", LoadOptions{},
			RowEdit{ID: ContentID("reset password", "login"), Input: "reset\tpassword", Expected: "login"}, true},
		{"alpaca-keeps-instruction", "load/alpaca.json", LoadOptions{},
			RowEdit{ID: ContentID("Classify the ticket.\n\nI was billed twice", "billing"), Input: "Classify the ticket.\n\nI was billed three times", Expected: "billing"}, true},
		{"alpaca-empty-input-field", "load/alpaca.json", LoadOptions{},
			RowEdit{ID: ContentID("Say hello in French.", "Bonjour"), Input: "Say good evening in French.", Expected: "Bonsoir"}, true},
		{"alpaca-pretty-printed", "load/alpaca.json", LoadOptions{},
			RowEdit{ID: ContentID("Translate to German.\n\ngood morning", "Guten Morgen"), Input: "Translate to Dutch.\n\ngood morning", Expected: "Goedemorgen"}, true},
		{"json-array", "load/plain.json", LoadOptions{},
			RowEdit{ID: "p2", Input: "second", Expected: "deux"}, false},
		{"json-minified-middle", "edit/minified.json", LoadOptions{},
			RowEdit{ID: "m2", Input: "two, edited", Expected: "b"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			ed, err := EditRow(path, data, tc.opts, tc.edit)
			if err != nil {
				t.Fatalf("EditRow: %v", err)
			}
			if !ed.Changed || ed.IDChanged != tc.idChanged || ed.Before.ID != tc.edit.ID {
				t.Errorf("changed=%v idChanged=%v before=%s, want changed, idChanged=%v, before=%s", ed.Changed, ed.IDChanged, ed.Before.ID, tc.idChanged, tc.edit.ID)
			}
			if ed.After.Input != tc.edit.Input {
				t.Errorf("after: input %q, want %q", ed.After.Input, tc.edit.Input)
			}
			if !tc.idChanged && ed.After.ID != tc.edit.ID {
				t.Errorf("after: id %q, want it kept as %q", ed.After.ID, tc.edit.ID)
			}
			if tc.idChanged && ed.After.ID != ContentID(ed.After.Input, ed.After.Expected) {
				t.Errorf("after: id %q is not the new content's", ed.After.ID)
			}
			// Only the edited row's lines may differ: the text before the
			// first change and after the last lies outside it.
			pre, suf := commonPrefix(data, ed.Data), commonSuffix(data, ed.Data)
			if first := bytes.Count(data[:pre], []byte("\n")) + 1; first < ed.Before.Line {
				t.Errorf("the file changed on line %d, before the row's line %d", first, ed.Before.Line)
			}
			golden.Check(t, filepath.Join("testdata", "edit", tc.name+".golden"), fmt.Sprintf("# %s -> %s (%d bytes kept before, %d after)\n%s",
				ed.Before.ID, ed.After.ID, pre, suf, ed.Data))
		})
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

func commonSuffix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	return n
}

func TestEditRowRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string
		opts    LoadOptions
		edit    RowEdit
		kind    error
		wantMsg string
	}{
		{"unknown id", "load/tickets.jsonl", LoadOptions{}, RowEdit{ID: "nope", Input: "x", Expected: "y"},
			ErrRowNotFound, `no row has the id "nope"`},
		{"empty input", "load/tickets.jsonl", LoadOptions{}, RowEdit{ID: "t1", Input: "  ", Expected: "billing"},
			ErrBadEdit, "the input is empty"},
		{"would duplicate another row", "load/tickets.jsonl", LoadOptions{},
			RowEdit{ID: ContentID("Rate <this> & that", "ok"), Input: "What is 6 times 7?", Expected: "42"},
			ErrBadEdit, "duplicate row"},
		{"chat input joined from two user turns", "load/chat.jsonl", LoadOptions{},
			RowEdit{ID: ContentID("Hi\n\nI forgot my password", "login"), Input: "I forgot my password", Expected: "login"},
			ErrBadEdit, "joined from 2 user messages"},
		{"csv without an expected column", "edit/bom.csv", LoadOptions{NoExpected: true, Columns: Columns{Expected: "answer"}},
			RowEdit{ID: "b1", Input: "first row", Expected: "x"}, ErrBadEdit, "no expected column"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join("testdata", tc.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			_, err = EditRow(path, data, tc.opts, tc.edit)
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("err = %v, want %v containing %q", err, tc.kind, tc.wantMsg)
			}
		})
	}
}

// TestEditFile rewrites a file in place: the mode is kept, no temporary
// file is left, and an edit that changes nothing writes nothing.
func TestEditFile(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "load", "tickets.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		edit     RowEdit
		changed  bool
		wantLine string
	}{
		{"edit", RowEdit{ID: "t1", Input: "I was charged twice for order 1042", Expected: "refund"}, true,
			`{"id": "t1", "input": "I was charged twice for order 1042", "expected": "refund"}`},
		{"no change", RowEdit{ID: "t1", Input: "I was charged twice for order 1042", Expected: "billing"}, false,
			`{"id": "t1", "input": "I was charged twice for order 1042", "expected": "billing"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "rows.jsonl")
			if err := os.WriteFile(path, src, 0o640); err != nil {
				t.Fatal(err)
			}
			ed, err := EditFile(path, LoadOptions{}, tc.edit)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if ed.Changed != tc.changed || strings.SplitN(string(got), "\n", 2)[0] != tc.wantLine {
				t.Errorf("changed=%v, first line %q; want changed=%v, %q", ed.Changed, strings.SplitN(string(got), "\n", 2)[0], tc.changed, tc.wantLine)
			}
			if rest := strings.SplitN(string(got), "\n", 2)[1]; rest != strings.SplitN(string(src), "\n", 2)[1] {
				t.Errorf("the other rows changed:\n%s", rest)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o640 {
				t.Errorf("mode %v, want 0640 kept", info.Mode().Perm())
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("%d files in the directory, want only the dataset (no temporary file left)", len(entries))
			}
		})
	}
}
