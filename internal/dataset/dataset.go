// Package dataset loads, checks and prepares the examples a lab is
// evaluated and tuned on. It reads JSONL, OpenAI chat JSONL, CSV/TSV,
// JSON arrays and Alpaca JSON into lab.Example rows, reporting every
// malformed row by file, line and field; it validates rows against a
// task's rules, finds exact and near duplicates, splits deterministically
// by label, checks splits for leakage, describes a dataset and exports it
// for fine-tuning.
package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tunelab/tunelab/internal/lab"
)

// Formats a dataset file can be in.
const (
	FormatJSONL  = "jsonl"  // one {"input","expected"} object per line
	FormatChat   = "chat"   // OpenAI chat JSONL: one {"messages":[...]} per line
	FormatCSV    = "csv"    // comma-separated with a header row
	FormatTSV    = "tsv"    // tab-separated with a header row
	FormatJSON   = "json"   // a JSON array of {"input","expected"} objects
	FormatAlpaca = "alpaca" // a JSON array of {"instruction","input","output"} objects
)

// Formats lists the format names LoadOptions.Format accepts.
var Formats = []string{FormatJSONL, FormatChat, FormatCSV, FormatTSV, FormatJSON, FormatAlpaca}

// LoadOptions adjust how a file is read.
type LoadOptions struct {
	// Format overrides the format chosen from the file's extension.
	Format string
	// Columns names the input, expected and id fields: CSV columns, or
	// object keys in JSONL and JSON files. Empty names take the defaults.
	Columns Columns
	// SkipBad skips malformed rows, listing them in Dataset.Skipped,
	// instead of failing on the first one.
	SkipBad bool
	// NoExpected accepts rows without an expected output, for unlabelled
	// data such as captured traces waiting to be labelled.
	NoExpected bool
}

// Columns names the fields that hold each part of an example.
type Columns struct {
	Input    string // default "input", else "text"
	Expected string // default "expected", else "label"
	ID       string // default "id"
}

// names lists the keys to look for, in order of preference: the one the
// user named, or the default and its alias.
func names(set string, defaults ...string) []string {
	if set != "" {
		return []string{set}
	}
	return defaults
}

// Dataset is the examples read from one file.
type Dataset struct {
	Path     string
	Format   string
	Examples []lab.Example
	// Version is a content hash of the examples (ids, inputs, expected
	// outputs, metadata, in order): the same rows give the same version on
	// any machine, and any edit gives a new one.
	Version string
	// Skipped lists the rows left out under LoadOptions.SkipBad.
	Skipped []RowError
}

// RowError is one malformed row.
type RowError struct {
	File  string
	Line  int
	Field string // empty when the problem is the row as a whole
	Msg   string
}

func (e RowError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		fmt.Fprintf(&b, "field %q: ", e.Field)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Load reads a dataset file. The format comes from opts.Format, else from
// the extension (.jsonl/.ndjson, .csv, .tsv, .json), and a JSONL file whose
// first row holds "messages" is read as OpenAI chat JSONL, a JSON array
// whose first object holds "instruction" as Alpaca.
func Load(path string, opts LoadOptions) (*Dataset, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load dataset %s: %w", path, err)
	}
	return Parse(path, data, opts)
}

// Parse reads a dataset from data; name stands for the file in errors and
// in the examples' Source, and picks the format like Load does.
func Parse(name string, data []byte, opts LoadOptions) (*Dataset, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // editors on Windows add a BOM
	format, err := resolveFormat(name, data, opts.Format)
	if err != nil {
		return nil, fmt.Errorf("load dataset %s: %w", name, err)
	}
	b := &builder{file: name, opts: opts, cols: opts.Columns, seen: map[string]int{}}
	switch format {
	case FormatJSONL, FormatChat:
		err = parseLines(b, data, format)
	case FormatCSV:
		err = parseCSV(b, data, ',')
	case FormatTSV:
		err = parseCSV(b, data, '\t')
	case FormatJSON, FormatAlpaca:
		err = parseArray(b, data, format)
	}
	if err != nil {
		return nil, err
	}
	if len(b.examples) == 0 {
		if len(b.skipped) > 0 {
			return nil, fmt.Errorf("load dataset %s: no usable rows: all %d were malformed, the first: %v", name, len(b.skipped), b.skipped[0])
		}
		return nil, fmt.Errorf("load dataset %s: no examples: the file holds no rows", name)
	}
	return &Dataset{Path: name, Format: format, Examples: b.examples, Version: Version(b.examples), Skipped: b.skipped}, nil
}

// FormatName returns the format a user-written name stands for, accepting
// the other names people use for them ("openai" or "messages" for chat,
// "ndjson" for jsonl), or an error that lists the formats.
func FormatName(format string) (string, error) {
	f := strings.ToLower(strings.TrimSpace(format))
	switch f {
	case "openai", "openai-chat", "messages":
		f = FormatChat
	case "ndjson":
		f = FormatJSONL
	}
	for _, known := range Formats {
		if f == known {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown format %q: use one of %s", format, strings.Join(Formats, ", "))
}

func resolveFormat(name string, data []byte, format string) (string, error) {
	if format != "" {
		return FormatName(format)
	}
	switch ext := strings.ToLower(filepath.Ext(name)); ext {
	case ".jsonl", ".ndjson":
		if firstLineHas(data, "messages") {
			return FormatChat, nil
		}
		return FormatJSONL, nil
	case ".csv":
		return FormatCSV, nil
	case ".tsv", ".tab":
		return FormatTSV, nil
	case ".json":
		if firstElementHas(data, "instruction") {
			return FormatAlpaca, nil
		}
		return FormatJSON, nil
	default:
		return "", fmt.Errorf("cannot tell the format from the extension %q: name the file .jsonl, .csv, .tsv or .json, or set the format (%s)", ext, strings.Join(Formats, ", "))
	}
}

// builder collects rows, giving ids and enforcing their uniqueness.
type builder struct {
	file     string
	opts     LoadOptions
	cols     Columns
	examples []lab.Example
	skipped  []RowError
	seen     map[string]int // id -> line it was first used on
}

// bad records a malformed row: fatal unless SkipBad is set.
func (b *builder) bad(line int, field, msg string) error {
	e := RowError{File: b.file, Line: line, Field: field, Msg: msg}
	if !b.opts.SkipBad {
		return e
	}
	b.skipped = append(b.skipped, e)
	return nil
}

// add records a well-formed row. Rows without an id get one derived from
// their content, so a row keeps its id across runs and edits elsewhere in
// the file do not renumber it.
func (b *builder) add(ex lab.Example, line int) error {
	derived := ex.ID == ""
	if derived {
		ex.ID = ContentID(ex.Input, ex.Expected)
	}
	if first, dup := b.seen[ex.ID]; dup {
		if derived {
			return b.bad(line, "", fmt.Sprintf("duplicate row: same input and expected as line %d; remove one (or give them distinct ids)", first))
		}
		return b.bad(line, b.idField(), fmt.Sprintf("duplicate id %q (first used on line %d); ids must be unique", ex.ID, first))
	}
	b.seen[ex.ID] = line
	ex.Source, ex.Line = b.file, line
	b.examples = append(b.examples, ex)
	return nil
}

func (b *builder) idField() string {
	if b.cols.ID != "" {
		return b.cols.ID
	}
	return "id"
}

// ContentID is the id a row without one gets: a hash of its input and
// expected output, stable across runs and machines.
func ContentID(input, expected string) string {
	h := sha256.New()
	h.Write([]byte(input))
	h.Write([]byte{0})
	h.Write([]byte(expected))
	return "ex-" + hex.EncodeToString(h.Sum(nil))[:12]
}

// Version is a content hash of examples in order: ids, inputs, expected
// outputs and metadata. Order counts because fixed few-shot selection and
// file order decide results; Source and Line do not, so moving a file
// keeps its version.
func Version(exs []lab.Example) string {
	h := sha256.New()
	field := func(s string) {
		fmt.Fprintf(h, "%d:%s", len(s), s) // length-prefixed so fields cannot run together
	}
	for _, ex := range exs {
		field(ex.ID)
		field(ex.Input)
		field(ex.Expected)
		keys := make([]string, 0, len(ex.Meta))
		for k := range ex.Meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(h, "m%d", len(keys))
		for _, k := range keys {
			field(k)
			field(ex.Meta[k])
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
