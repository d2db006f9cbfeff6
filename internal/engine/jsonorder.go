package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// oval is a JSON value that keeps object keys in document order, which
// encoding/json's maps lose; the grammar writes properties in that order.
type oval struct {
	kind kind
	b    bool
	str  string
	obj  []okv
	arr  []*oval
	raw  json.RawMessage // compact JSON text, for const and enum
}

type okv struct {
	key string
	val *oval
}

type kind int

const (
	kNull kind = iota
	kBool
	kNumber
	kString
	kArray
	kObject
)

func (o *oval) get(key string) (*oval, bool) {
	if o.kind != kObject {
		return nil, false
	}
	for _, kv := range o.obj {
		if kv.key == key {
			return kv.val, true
		}
	}
	return nil, false
}

func (o *oval) has(key string) bool {
	_, ok := o.get(key)
	return ok
}

func (o *oval) count() (int, error) {
	var n int
	if o.kind != kNumber || json.Unmarshal(o.raw, &n) != nil || n < 0 || n > 1<<20 {
		return 0, fmt.Errorf("want a non-negative integer, got %s", o.raw)
	}
	return n, nil
}

func parseOrdered(data []byte) (*oval, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := parseValue(dec, 0)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the schema")
	}
	return v, nil
}

func parseValue(dec *json.Decoder, depth int) (*oval, error) {
	if depth > 64 {
		return nil, fmt.Errorf("nested too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := &oval{kind: kObject}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				val, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o.obj = append(o.obj, okv{key: kt.(string), val: val})
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			o.raw = o.compact()
			return o, nil
		case '[':
			o := &oval{kind: kArray}
			for dec.More() {
				val, err := parseValue(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o.arr = append(o.arr, val)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			o.raw = o.compact()
			return o, nil
		}
	case bool:
		return &oval{kind: kBool, b: t, raw: json.RawMessage(fmt.Sprint(t))}, nil
	case json.Number:
		return &oval{kind: kNumber, raw: json.RawMessage(t.String())}, nil
	case string:
		return &oval{kind: kString, str: t, raw: json.RawMessage(jsonString(t))}, nil
	case nil:
		return &oval{kind: kNull, raw: json.RawMessage("null")}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", tok)
}

// jsonString quotes s as JSON without escaping <, > and &, so a model
// asked to write "<b>" can write it as is.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// compact writes the value back as JSON with its key order kept.
func (o *oval) compact() json.RawMessage {
	var b bytes.Buffer
	switch o.kind {
	case kObject:
		b.WriteByte('{')
		for i, kv := range o.obj {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(jsonString(kv.key))
			b.WriteByte(':')
			b.Write(kv.val.raw)
		}
		b.WriteByte('}')
	case kArray:
		b.WriteByte('[')
		for i, e := range o.arr {
			if i > 0 {
				b.WriteByte(',')
			}
			b.Write(e.raw)
		}
		b.WriteByte(']')
	default:
		return o.raw
	}
	return b.Bytes()
}
