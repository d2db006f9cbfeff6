package retrieval

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// jsonlFormat is part of a record's content hash, so a change to how
// records become documents re-indexes them.
const jsonlFormat = "jsonl-1"

// Record fields. A record is one document: its text is chunked like a
// file's, under its title.
const (
	fieldID    = "id"    // required: a string or an integer, unique in the file
	fieldText  = "text"  // required: the text to search, Markdown allowed
	fieldTitle = "title" // optional: heads the heading path of its chunks
	fieldURL   = "url"   // optional: where the record comes from, shown as its chunks' location
)

// textAliases are names other tools give the text field; a record that
// has one of them but no "text" gets a hint to rename it.
var textAliases = []string{"content", "body", "passage", "page_content", "chunk"}

// loadJSONL reads a JSONL knowledge file: one JSON object per line, each a
// document named rel#id. A bad line is listed as skipped ("file:line",
// with the field and what is wrong) and the other records still load,
// just as one bad file does not stop a folder from loading. Blank lines
// are ignored. Each record is hashed on its own, so editing one record
// re-indexes that record alone.
func loadJSONL(rel, path string, raw []byte) ([]Document, []Skipped) {
	if bytes.IndexByte(raw, 0) >= 0 {
		return nil, []Skipped{{Path: path, Reason: "binary, not JSONL text"}}
	}
	var docs []Document
	var skipped []Skipped
	seen := map[string]int{} // record id -> line
	lines := bytes.Split(raw, []byte("\n"))
	for i, line := range lines {
		n := i + 1
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		rec, field, problem := parseRecord(line)
		if problem == "" {
			if first, dup := seen[rec.id]; dup {
				field, problem = fieldID, fmt.Sprintf("%q repeats the id of the record on line %d; ids must be unique in the file", rec.id, first)
			}
		}
		if problem != "" {
			reason := problem
			if field != "" {
				reason = fmt.Sprintf("field %q: %s", field, problem)
			}
			skipped = append(skipped, Skipped{Path: path + ":" + strconv.Itoa(n), Reason: reason})
			continue
		}
		seen[rec.id] = n
		sum := sha256.Sum256(append([]byte(jsonlFormat+"\x00"), line...))
		docs = append(docs, Document{
			ID:    rel + "#" + rec.id,
			Path:  path,
			Text:  rec.text,
			Hash:  hex.EncodeToString(sum[:]),
			Title: rec.title,
			Loc:   rec.url,
		})
	}
	if len(docs) == 0 && len(skipped) == 0 {
		return nil, []Skipped{{Path: path, Reason: "empty"}}
	}
	return docs, skipped
}

type record struct {
	id, text, title, url string
}

// parseRecord reads one line; on failure it names the field at fault
// ("" when the line is not an object at all) and what is wrong with it.
func parseRecord(line []byte) (rec record, field, problem string) {
	if !utf8.Valid(line) {
		return rec, "", "not UTF-8 text"
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil || obj == nil {
		if err == nil {
			err = fmt.Errorf("got null")
		}
		return rec, "", fmt.Sprintf("not a JSON object (%v); each line must be one record such as {\"id\": \"a1\", \"text\": \"...\"}", err)
	}
	raw, ok := obj[fieldID]
	if !ok {
		return rec, fieldID, "missing; every record needs an id (a string or an integer) that stays the same when the file is edited"
	}
	id, problem := recordID(raw)
	if problem != "" {
		return rec, fieldID, problem
	}
	rec.id = id
	raw, ok = obj[fieldText]
	if !ok {
		for _, alias := range textAliases {
			if _, has := obj[alias]; has {
				return rec, fieldText, fmt.Sprintf("missing; this record has %q: rename it to \"text\"", alias)
			}
		}
		return rec, fieldText, "missing; every record needs the text to search"
	}
	if rec.text, problem = stringField(raw); problem != "" {
		return rec, fieldText, problem
	}
	if strings.TrimSpace(rec.text) == "" {
		return rec, fieldText, "empty"
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{fieldTitle, &rec.title}, {fieldURL, &rec.url}} {
		if raw, ok := obj[f.name]; ok && string(raw) != "null" {
			if *f.dst, problem = stringField(raw); problem != "" {
				return rec, f.name, problem
			}
			*f.dst = strings.Join(strings.Fields(*f.dst), " ") // one line: it is shown as a heading
		}
	}
	return rec, "", ""
}

// recordID accepts a non-empty string without control characters, or an
// integer (ids exported from databases often are).
func recordID(raw json.RawMessage) (string, string) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		s = strings.TrimSpace(s)
		if s == "" {
			return "", "empty"
		}
		if strings.IndexFunc(s, unicode.IsControl) >= 0 {
			return "", "contains a control character (a newline?)"
		}
		return s, ""
	}
	var n json.Number
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if err := d.Decode(&n); err == nil {
		if _, err := strconv.ParseInt(n.String(), 10, 64); err == nil {
			return n.String(), ""
		}
	}
	return "", fmt.Sprintf("want a string or an integer, got %s", clipJSON(raw))
}

func stringField(raw json.RawMessage) (string, string) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Sprintf("want a string, got %s", clipJSON(raw))
	}
	return s, ""
}

func clipJSON(raw json.RawMessage) string { return clip(string(raw), 40) }
