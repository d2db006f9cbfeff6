package dataset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
)

// Kinds of edit errors, for callers that map them to answers (a 404, a
// 422); the error's text says what to do.
var (
	// ErrRowNotFound: no row of the file has the id.
	ErrRowNotFound = errors.New("row not found")
	// ErrBadEdit: the file cannot take the edit as asked (the format has
	// no place for it, or the row would clash with another).
	ErrBadEdit = errors.New("edit cannot be written")
)

// editError carries a message written for the user and the kind it is.
type editError struct {
	kind error
	msg  string
}

func (e *editError) Error() string { return e.msg }
func (e *editError) Unwrap() error { return e.kind }

func badEdit(format string, args ...any) error {
	return &editError{kind: ErrBadEdit, msg: fmt.Sprintf(format, args...)}
}

// RowEdit replaces one row's input and expected output.
type RowEdit struct {
	// ID is the row's id as loaded: the one the file gives, or the one
	// derived from its content.
	ID       string
	Input    string
	Expected string
}

// Edited is the outcome of an edit.
type Edited struct {
	// Data is the whole file with the one row rewritten; every byte
	// outside that row is as it was.
	Data   []byte
	Before lab.Example
	// After is the row as the new file loads.
	After lab.Example
	// Changed is false when the row already held the edit (nothing to write).
	Changed bool
	// IDChanged is true when the row's id is derived from its content and
	// the edit gives it a new one.
	IDChanged bool
}

// EditFile rewrites one row of the dataset file at path (see EditRow) and
// replaces the file atomically, so a reader sees the old file or the new
// one, never a mix.
func EditFile(path string, opts LoadOptions, e RowEdit) (Edited, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Edited{}, fmt.Errorf("edit dataset %s: %w", path, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		return Edited{}, fmt.Errorf("edit dataset %s: %w", path, err)
	}
	ed, err := EditRow(path, data, opts, e)
	if err != nil || !ed.Changed {
		return ed, err
	}
	if err := fsutil.WriteFileAtomic(path, ed.Data, info.Mode().Perm()); err != nil {
		return Edited{}, fmt.Errorf("edit dataset: %w", err)
	}
	return ed, nil
}

// EditRow rewrites the row whose id is e.ID in a dataset file's bytes
// (name stands for the file, as in Parse). Only that row's input and
// expected values change: its other fields, the way it is written and
// every other row keep their bytes. The result is read back and must load
// as the edit asked, with every other row as before; otherwise the edit is
// refused (ErrBadEdit) and nothing is changed.
func EditRow(name string, data []byte, opts LoadOptions, e RowEdit) (Edited, error) {
	if strings.TrimSpace(e.Input) == "" {
		return Edited{}, badEdit("%s: the input is empty: every row needs an input", name)
	}
	ds, err := Parse(name, data, opts)
	if err != nil {
		return Edited{}, fmt.Errorf("edit dataset: the file does not load as it is, fix it first: %w", err)
	}
	idx := -1
	for i, ex := range ds.Examples {
		if ex.ID == e.ID {
			idx = i
			break
		}
	}
	if idx < 0 {
		return Edited{}, &editError{kind: ErrRowNotFound, msg: fmt.Sprintf("%s: no row has the id %q", name, e.ID)}
	}
	before := ds.Examples[idx]
	if before.Input == e.Input && before.Expected == e.Expected {
		return Edited{Data: data, Before: before, After: before}, nil
	}
	bom := []byte{}
	body := data
	if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) {
		bom, body = data[:3], data[3:]
	}
	var start, end int
	var row []byte
	switch ds.Format {
	case FormatJSONL, FormatChat:
		start, end, row, err = editLine(body, before, ds.Format, opts, e)
	case FormatCSV, FormatTSV:
		comma := ','
		if ds.Format == FormatTSV {
			comma = '\t'
		}
		start, end, row, err = editRecord(body, before, comma, opts, e)
	case FormatJSON, FormatAlpaca:
		start, end, row, err = editElement(name, body, before, ds.Format, opts, e)
	default:
		err = badEdit("%s: rows of the %s format cannot be rewritten; edit the file itself", name, ds.Format)
	}
	if err != nil {
		return Edited{}, fmt.Errorf("%s:%d: %w", name, before.Line, err)
	}
	out := make([]byte, 0, len(data)-(end-start)+len(row))
	out = append(append(append(append(out, bom...), body[:start]...), row...), body[end:]...)
	return check(name, out, opts, ds.Examples, idx, e)
}

// check reads the rewritten file back: the edited row must load as asked
// and every other row as it did.
func check(name string, out []byte, opts LoadOptions, old []lab.Example, idx int, e RowEdit) (Edited, error) {
	ds, err := Parse(name, out, opts)
	if err != nil {
		return Edited{}, badEdit("the edit would break the file, so nothing was changed: %v", err)
	}
	if len(ds.Examples) != len(old) {
		return Edited{}, badEdit("%s:%d: after the edit the file would load %d rows instead of %d, so nothing was changed; edit the file itself",
			name, old[idx].Line, len(ds.Examples), len(old))
	}
	for i, ex := range ds.Examples {
		if i != idx && !sameExample(ex, old[i]) {
			return Edited{}, badEdit("%s:%d: the edit would also change the row on line %d, so nothing was changed; edit the file itself", name, old[idx].Line, old[i].Line)
		}
	}
	after := ds.Examples[idx]
	if after.Input != e.Input || !sameExpected(after.Expected, e.Expected) || !sameMeta(after.Meta, old[idx].Meta) {
		return Edited{}, badEdit("%s:%d: the %s format cannot hold this edit exactly (it would load as input %q, expected %q); edit the file itself",
			name, old[idx].Line, ds.Format, after.Input, after.Expected)
	}
	return Edited{Data: out, Before: old[idx], After: after, Changed: true, IDChanged: after.ID != old[idx].ID}, nil
}

// sameExpected accepts JSON written compactly for a value that loads as
// compact JSON (an object or a number in a JSON-output task).
func sameExpected(loaded, asked string) bool {
	if loaded == asked {
		return true
	}
	var b bytes.Buffer
	return json.Valid([]byte(asked)) && json.Compact(&b, []byte(asked)) == nil && b.String() == loaded
}

func sameExample(a, b lab.Example) bool {
	return a.ID == b.ID && a.Input == b.Input && a.Expected == b.Expected && sameMeta(a.Meta, b.Meta)
}

func sameMeta(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// editLine rewrites the JSONL line a row was read from.
func editLine(body []byte, ex lab.Example, format string, opts LoadOptions, e RowEdit) (int, int, []byte, error) {
	start := 0
	for line := 1; line < ex.Line; line++ {
		i := bytes.IndexByte(body[start:], '\n')
		if i < 0 {
			return 0, 0, nil, fmt.Errorf("line %d is past the end of the file", ex.Line)
		}
		start += i + 1
	}
	end := len(body)
	if i := bytes.IndexByte(body[start:], '\n'); i >= 0 {
		end = start + i
	}
	row, err := rewriteObject(body[start:end], format, opts, ex, e)
	return start, end, row, err
}

// editElement rewrites the element of a JSON array a row was read from.
// Several elements may start on one line; the one whose row has the id
// is taken.
func editElement(name string, body []byte, ex lab.Example, format string, opts LoadOptions, e RowEdit) (int, int, []byte, error) {
	at := skipSpace(body, 0)
	elems, _, err := scanArray(body, at)
	if err != nil {
		return 0, 0, nil, err
	}
	lines := lineCounter{data: body, line: 1}
	for _, el := range elems {
		if lines.at(el.start) != ex.Line || body[el.start] != '{' {
			continue
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body[el.start:el.end], &obj); err != nil {
			continue
		}
		b := &builder{file: name, opts: opts, cols: opts.Columns, seen: map[string]int{}}
		b.opts.SkipBad = true
		if b.object(obj, ex.Line, format) != nil || len(b.examples) != 1 || b.examples[0].ID != ex.ID {
			continue
		}
		row, err := rewriteObject(body[el.start:el.end], format, opts, ex, e)
		return el.start, el.end, row, err
	}
	return 0, 0, nil, fmt.Errorf("the row is not where the file was read from; reload and try again")
}

// rewriteObject rewrites a row object's input and expected values in
// place. raw may hold space around the object, which is kept.
func rewriteObject(raw []byte, format string, opts LoadOptions, ex lab.Example, e RowEdit) ([]byte, error) {
	at := skipSpace(raw, 0)
	members, _, err := scanObject(raw, at)
	if err != nil {
		return nil, err
	}
	var reps []replacement
	switch format {
	case FormatChat:
		reps, err = chatReplacements(raw, members, ex, e)
	case FormatAlpaca:
		reps, err = alpacaReplacements(raw, members, ex, e)
	default:
		reps, err = plainReplacements(raw, members, opts, ex, e)
	}
	if err != nil {
		return nil, err
	}
	return apply(raw, reps), nil
}
