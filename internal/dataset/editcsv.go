package dataset

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
)

// editRecord rewrites the CSV or TSV record a row was read from; only the
// input and expected cells change, the others keep their quoting.
func editRecord(body []byte, ex lab.Example, comma rune, opts LoadOptions, e RowEdit) (int, int, []byte, error) {
	r := csv.NewReader(bytes.NewReader(body))
	r.Comma = comma
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil {
		return 0, 0, nil, fmt.Errorf("read the header: %w", err)
	}
	pos := map[string]int{}
	for i, h := range header {
		pos[strings.ToLower(strings.TrimSpace(h))] = i
	}
	col := func(keys []string) int {
		for _, k := range keys {
			if i, ok := pos[strings.ToLower(k)]; ok {
				return i
			}
		}
		return -1
	}
	in, exp := col(names(opts.Columns.Input, "input", "text")), col(names(opts.Columns.Expected, "expected", "label"))
	for {
		start := int(r.InputOffset())
		_, err := r.Read()
		if errors.Is(err, io.EOF) {
			return 0, 0, nil, fmt.Errorf("the row is not where the file was read from; reload and try again")
		}
		if err != nil { // a malformed record skipped on load; not the row
			continue
		}
		if line, _ := r.FieldPos(0); line != ex.Line {
			continue
		}
		end := int(r.InputOffset())
		// The reader skips empty lines before a record; they are not its.
		for start < end && (body[start] == '\n' || (body[start] == '\r' && start+1 < end && body[start+1] == '\n')) {
			if body[start] == '\r' {
				start++
			}
			start++
		}
		cells, err := cellSpans(body[start:end], byte(comma))
		if err != nil {
			return 0, 0, nil, err
		}
		if len(cells) != len(header) {
			return 0, 0, nil, fmt.Errorf("the row has %d cells, the header %d", len(cells), len(header))
		}
		var reps []replacement
		if e.Input != ex.Input {
			c := cells[in]
			reps = append(reps, replacement{c.start, c.end, csvCell(e.Input, comma, body[start+c.start] == '"')})
		}
		if e.Expected != ex.Expected {
			if exp < 0 {
				return 0, 0, nil, badEdit("the file has no expected column to hold the answer; add one to its header")
			}
			c := cells[exp]
			reps = append(reps, replacement{c.start, c.end, csvCell(e.Expected, comma, c.end > c.start && body[start+c.start] == '"')})
		}
		return start, end, apply(body[start:end], reps), nil
	}
}

// cellSpans splits one raw record (which the csv reader has accepted)
// into its cells' byte spans, quotes included.
func cellSpans(rec []byte, comma byte) ([]span, error) {
	var cells []span
	i := 0
	for {
		start := i
		if i < len(rec) && rec[i] == '"' {
			i++
			for {
				j := bytes.IndexByte(rec[i:], '"')
				if j < 0 {
					return nil, errors.New("a quoted cell is not closed")
				}
				i += j + 1
				if i < len(rec) && rec[i] == '"' { // a doubled quote inside the cell
					i++
					continue
				}
				break
			}
		} else {
			for i < len(rec) && rec[i] != comma && rec[i] != '\n' && rec[i] != '\r' {
				i++
			}
		}
		cells = append(cells, span{start, i})
		if i >= len(rec) || rec[i] == '\n' || rec[i] == '\r' {
			return cells, nil
		}
		if rec[i] != comma {
			return nil, fmt.Errorf("unexpected %q after a quoted cell", rec[i])
		}
		i++
	}
}

// csvCell writes a cell, quoted when it was or when its text needs it.
func csvCell(s string, comma rune, quoted bool) []byte {
	if !quoted && s != `\.` && !strings.ContainsAny(s, string(comma)+"\"\r\n") && !strings.HasPrefix(s, " ") && !strings.HasPrefix(s, "\t") {
		return []byte(s)
	}
	return []byte(`"` + strings.ReplaceAll(s, `"`, `""`) + `"`)
}
