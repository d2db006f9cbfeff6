package dataset

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/tunelab/tunelab/internal/lab"
)

// parseCSV reads a delimited file whose first row names the columns.
// Columns other than input, expected and id become metadata.
func parseCSV(b *builder, data []byte, comma rune) error {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = comma
	r.FieldsPerRecord = -1 // counted here, to say which row and how many
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil // an empty file: Parse reports that it holds no rows
	}
	if err != nil {
		line, msg := csvError(err)
		return RowError{File: b.file, Line: line, Msg: "cannot read the header row: " + msg}
	}
	pos := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		header[i] = h
		key := strings.ToLower(h)
		if h == "" {
			return RowError{File: b.file, Line: 1, Msg: fmt.Sprintf("column %d has no name; the first row must name every column", i+1)}
		}
		if _, dup := pos[key]; dup {
			return RowError{File: b.file, Line: 1, Msg: fmt.Sprintf("column %q appears twice in the header", h)}
		}
		pos[key] = i
	}
	find := func(keys []string) int {
		for _, k := range keys {
			if i, ok := pos[strings.ToLower(k)]; ok {
				return i
			}
		}
		return -1
	}
	missing := func(what string, keys []string) error {
		// Header names are quoted: a quoted cell can hold a newline, and
		// the message must stay one line.
		return RowError{File: b.file, Line: 1, Msg: fmt.Sprintf("no %s column for the %s (the header has %s); rename a column or set the %s column's name",
			quoteOr(keys), what, quoteList(header), what)}
	}
	inKeys := names(b.cols.Input, "input", "text")
	in := find(inKeys)
	if in < 0 {
		return missing("input", inKeys)
	}
	expKeys := names(b.cols.Expected, "expected", "label")
	exp := find(expKeys)
	if exp < 0 && !b.opts.NoExpected {
		return missing("expected output", expKeys)
	}
	id := find(names(b.cols.ID, "id"))
	if id < 0 && b.cols.ID != "" {
		return missing("id", []string{b.cols.ID})
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			line, msg := csvError(err)
			if err := b.bad(line, "", msg); err != nil {
				return err
			}
			continue
		}
		line, _ := r.FieldPos(0)
		if blank(rec) {
			continue // spreadsheets leave rows of empty cells at the end
		}
		if len(rec) != len(header) {
			if err := b.bad(line, "", fmt.Sprintf("expected %d columns, got %d", len(header), len(rec))); err != nil {
				return err
			}
			continue
		}
		if i := invalidUTF8(rec); i >= 0 {
			if err := b.bad(line, header[i], "not valid UTF-8 text; save the file as UTF-8"); err != nil {
				return err
			}
			continue
		}
		ex := lab.Example{Input: rec[in]}
		if exp >= 0 {
			ex.Expected = rec[exp]
		}
		if id >= 0 {
			ex.ID = strings.TrimSpace(rec[id]) // an empty cell means no id: one is derived
		}
		for i, v := range rec {
			if i == in || i == exp || i == id || v == "" {
				continue
			}
			if ex.Meta == nil {
				ex.Meta = map[string]string{}
			}
			ex.Meta[header[i]] = v
		}
		if err := b.add(ex, line); err != nil {
			return err
		}
	}
}

func csvError(err error) (int, string) {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Line, pe.Err.Error()
	}
	return 0, err.Error()
}

func blank(rec []string) bool {
	for _, v := range rec {
		if strings.TrimSpace(v) != "" {
			return false
		}
	}
	return true
}

func invalidUTF8(rec []string) int {
	for i, v := range rec {
		if !utf8.ValidString(v) {
			return i
		}
	}
	return -1
}

func quoteList(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = fmt.Sprintf("%q", k)
	}
	return strings.Join(q, ", ")
}

func quoteOr(keys []string) string {
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = fmt.Sprintf("%q", k)
	}
	return strings.Join(q, " or ")
}
