package server

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tunelab/tunelab/internal/dataset"
)

// TestEditCase fixes rows of the example lab through PUT /api/cases/{id}:
// the data file changes in that row only, the lab's dataset version moves,
// and bad edits are refused with a message and leave the file alone.
func TestEditCase(t *testing.T) {
	h, _ := labHarness(t)
	dir := filepath.Dir(h.srv.opts.Lab.ConfigPath)
	testFile := filepath.Join(dir, "data", "test.jsonl")
	raw, err := os.ReadFile(testFile)
	if err != nil {
		t.Fatal(err)
	}
	// Two rows lose their ids, so theirs are derived from their content.
	lines := strings.SplitAfter(string(raw), "\n")
	strip := func(line string) string {
		i := strings.Index(line, `"input"`)
		return "{" + line[i:]
	}
	lines[1], lines[2] = strip(lines[1]), strip(lines[2])
	if err := os.WriteFile(testFile, []byte(strings.Join(lines, "")), 0o644); err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.Load(testFile, dataset.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first, derived, other := ds.Examples[0], ds.Examples[1], ds.Examples[2]
	if first.ID != "tk-0001" || !strings.HasPrefix(derived.ID, "ex-") || !strings.HasPrefix(other.ID, "ex-") {
		t.Fatalf("rows %s %s %s, want tk-0001 and two derived ids", first.ID, derived.ID, other.ID)
	}
	var before labInfo
	if st := h.adminJSON("GET", "/api/lab", nil, &before); st != 200 {
		t.Fatalf("GET /api/lab: %d", st)
	}
	str := func(s string) *string { return &s }

	for _, tc := range []struct {
		name      string
		id        string
		body      any
		status    int
		msg       string // in the error or the message
		wantLine  string // line 1 (0-based index below) of the file afterwards, when set
		lineIndex int
		idChanged bool
	}{
		{name: "fix the expected label", id: "tk-0001",
			body:   caseEdit{Input: str(first.Input), Expected: str("account_close")},
			status: 200, msg: "data/test.jsonl line 1", lineIndex: 0,
			wantLine: `{"id":"tk-0001","input":"How do I get back into my account if I lost my bacukp codes?","expected":"account_close"}` + "\n"},
		{name: "a derived id changes with the content", id: derived.ID,
			body:   caseEdit{Input: str(derived.Input + " (urgent)"), Expected: str(derived.Expected), Split: "test"},
			status: 200, msg: "its id comes from its content", idChanged: true, lineIndex: 1,
			wantLine: strings.Replace(lines[1], `","expected"`, ` (urgent)","expected"`, 1)},
		{name: "no change", id: "tk-0001", body: caseEdit{Input: str(first.Input), Expected: str("account_close")},
			status: 200, msg: "nothing was written"},
		{name: "empty input", id: "tk-0001", body: caseEdit{Input: str("  "), Expected: str("account_close")},
			status: 400, msg: "input is empty"},
		{name: "missing expected", id: "tk-0001", body: caseEdit{Input: str("x")}, status: 400, msg: "expected is missing"},
		{name: "not a label", id: "tk-0001", body: caseEdit{Input: str("x"), Expected: str("refund")},
			status: 400, msg: "not one of the task's labels"},
		{name: "unknown id", id: "tk-9999", body: caseEdit{Input: str("x"), Expected: str("account_close")},
			status: 404, msg: `no case "tk-9999" in this lab`},
		{name: "id not in the split named", id: "tk-0001", body: caseEdit{Input: str("x"), Expected: str("account_close"), Split: "train"},
			status: 404, msg: "in the train split"},
		{name: "unknown split", id: "tk-0001", body: caseEdit{Input: str("x"), Expected: str("account_close"), Split: "dev"},
			status: 400, msg: "split must be"},
		{name: "would duplicate another row", id: other.ID,
			body:   caseEdit{Input: str(derived.Input + " (urgent)"), Expected: str(derived.Expected)},
			status: 422, msg: "duplicate row"},
		{name: "not JSON", id: "tk-0001", body: "{", status: 400, msg: "not valid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out struct {
				caseEdited
				Error apiError `json:"error"`
			}
			fileBefore, _ := os.ReadFile(testFile)
			st := h.adminJSON("PUT", "/api/cases/"+tc.id, tc.body, &out)
			if st != tc.status || !strings.Contains(out.Error.Message+out.Message, tc.msg) {
				t.Fatalf("status %d %q%q, want %d containing %q", st, out.Error.Message, out.Message, tc.status, tc.msg)
			}
			fileAfter, _ := os.ReadFile(testFile)
			if tc.wantLine == "" {
				if string(fileAfter) != string(fileBefore) {
					t.Errorf("the file changed")
				}
				return
			}
			after := strings.SplitAfter(string(fileAfter), "\n")
			prev := strings.SplitAfter(string(fileBefore), "\n")
			if len(after) != len(prev) || after[tc.lineIndex] != tc.wantLine {
				t.Fatalf("line %d = %q, want %q", tc.lineIndex+1, after[tc.lineIndex], tc.wantLine)
			}
			for i := range prev {
				if i != tc.lineIndex && prev[i] != after[i] {
					t.Errorf("line %d changed too: %q", i+1, after[i])
				}
			}
			req := tc.body.(caseEdit)
			if out.Row.Input != *req.Input || out.Row.Expected != *req.Expected || out.IDChanged != tc.idChanged ||
				out.PreviousID != tc.id || (out.Row.ID == tc.id) == tc.idChanged || out.Split != "test" || !out.Changed {
				t.Errorf("answer = %+v", out.caseEdited)
			}
			// The lab reads the new file: its version moved, the row shows.
			var info labInfo
			if h.adminJSON("GET", "/api/lab", nil, &info); info.Dataset == before.Dataset || info.Dataset != out.Version {
				t.Errorf("dataset version %s (before %s), answer says %s", info.Dataset, before.Dataset, out.Version)
			}
			before = info
			var page struct {
				Rows []struct{ ID, Input, Expected string } `json:"rows"`
			}
			h.adminJSON("GET", "/api/cases?split=test&q="+out.Row.ID, nil, &page)
			if len(page.Rows) != 1 || page.Rows[0].Expected != *req.Expected || page.Rows[0].Input != *req.Input {
				t.Errorf("GET /api/cases after the edit: %+v", page.Rows)
			}
		})
	}
}
