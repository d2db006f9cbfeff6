package dataset

import (
	"encoding/json"
	"fmt"
)

// A small scanner over JSON the loader has already accepted, to find the
// byte spans of an object's members and an array's elements: an edit
// replaces values in place instead of re-encoding the row, so key order,
// spacing and untouched fields keep their bytes.

type span struct{ start, end int }

type member struct {
	key     string
	keySpan span
	val     span
}

func skipSpace(data []byte, at int) int {
	for at < len(data) {
		switch data[at] {
		case ' ', '\t', '\r', '\n':
			at++
		default:
			return at
		}
	}
	return at
}

// scanString returns the end of the string starting at data[at] == '"'.
func scanString(data []byte, at int) (int, error) {
	if at >= len(data) || data[at] != '"' {
		return 0, fmt.Errorf("offset %d: want a string", at)
	}
	for i := at + 1; i < len(data); i++ {
		switch data[i] {
		case '\\':
			i++
		case '"':
			return i + 1, nil
		}
	}
	return 0, fmt.Errorf("offset %d: the string is not closed", at)
}

// skipValue returns the end of the value starting at data[at].
func skipValue(data []byte, at int) (int, error) {
	if at >= len(data) {
		return 0, fmt.Errorf("offset %d: want a value", at)
	}
	switch data[at] {
	case '"':
		return scanString(data, at)
	case '{':
		_, end, err := scanObject(data, at)
		return end, err
	case '[':
		_, end, err := scanArray(data, at)
		return end, err
	}
	i := at
	for i < len(data) {
		switch data[i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			if i == at {
				return 0, fmt.Errorf("offset %d: want a value", at)
			}
			return i, nil
		}
		i++
	}
	return i, nil
}

// scanObject lists the members of the object starting at data[at] == '{'
// and returns the offset just past it.
func scanObject(data []byte, at int) ([]member, int, error) {
	if at >= len(data) || data[at] != '{' {
		return nil, 0, fmt.Errorf("offset %d: want an object", at)
	}
	var out []member
	i := skipSpace(data, at+1)
	if i < len(data) && data[i] == '}' {
		return out, i + 1, nil
	}
	for {
		kend, err := scanString(data, i)
		if err != nil {
			return nil, 0, err
		}
		var key string
		if err := json.Unmarshal(data[i:kend], &key); err != nil {
			return nil, 0, fmt.Errorf("offset %d: %w", i, err)
		}
		c := skipSpace(data, kend)
		if c >= len(data) || data[c] != ':' {
			return nil, 0, fmt.Errorf("offset %d: want ':'", c)
		}
		vstart := skipSpace(data, c+1)
		vend, err := skipValue(data, vstart)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, member{key: key, keySpan: span{i, kend}, val: span{vstart, vend}})
		i = skipSpace(data, vend)
		if i >= len(data) {
			return nil, 0, fmt.Errorf("offset %d: the object is not closed", at)
		}
		switch data[i] {
		case '}':
			return out, i + 1, nil
		case ',':
			i = skipSpace(data, i+1)
		default:
			return nil, 0, fmt.Errorf("offset %d: want ',' or '}'", i)
		}
	}
}

// scanArray lists the elements of the array starting at data[at] == '['
// and returns the offset just past it.
func scanArray(data []byte, at int) ([]span, int, error) {
	if at >= len(data) || data[at] != '[' {
		return nil, 0, fmt.Errorf("offset %d: want an array", at)
	}
	var out []span
	i := skipSpace(data, at+1)
	if i < len(data) && data[i] == ']' {
		return out, i + 1, nil
	}
	for {
		end, err := skipValue(data, i)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, span{i, end})
		i = skipSpace(data, end)
		if i >= len(data) {
			return nil, 0, fmt.Errorf("offset %d: the array is not closed", at)
		}
		switch data[i] {
		case ']':
			return out, i + 1, nil
		case ',':
			i = skipSpace(data, i+1)
		default:
			return nil, 0, fmt.Errorf("offset %d: want ',' or ']'", i)
		}
	}
}
