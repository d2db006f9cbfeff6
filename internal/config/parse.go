package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads a lab's config. path may be the file or the lab directory.
func Load(path string) (*Config, error) {
	if path == "" {
		path = FileName
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		path = filepath.Join(path, FileName)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("no lab config at %s: run `tunelab init DIR` to create a lab, or pass -c PATH", path)
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path)
}

// Parse reads config text; path is used for the lab directory and in errors.
func Parse(data []byte, path string) (*Config, error) {
	c := &Config{Path: path, Dir: filepath.Dir(path)}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, c.yamlError(err)
	}
	if len(root.Content) == 0 {
		return nil, fmt.Errorf("%s: the file is empty: see `tunelab init` for an example", path)
	}
	c.lines = indexLines(&root)
	if err := checkKnownKeys(root.Content[0], reflect.TypeOf(Config{}), "", c); err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, c.yamlError(err)
	}
	if err := c.convertSchemas(); err != nil {
		return nil, err
	}
	if err := c.normalize(); err != nil {
		return nil, err
	}
	return c, nil
}

// UnmarshalYAML lets a model be written as a bare string.
func (m *ModelSpec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		m.Model = n.Value
		return nil
	}
	type plain ModelSpec
	return n.Decode((*plain)(m))
}

// checkKnownKeys walks the document against the Go types so that an unknown
// key anywhere, including inside entries that custom unmarshalers decode,
// is reported with its line and the keys that are allowed there.
func checkKnownKeys(n *yaml.Node, t reflect.Type, path string, c *Config) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeOf(yaml.Node{}):
		return nil
	case n.Kind == yaml.ScalarNode:
		return checkNumber(n, t, path, c)
	case t.Kind() == reflect.Struct && n.Kind == yaml.MappingNode:
		fields := map[string]reflect.Type{}
		var names []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			fields[tag] = f.Type
			names = append(names, tag)
		}
		sort.Strings(names)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			ft, ok := fields[k.Value]
			if !ok {
				where := path
				if where == "" {
					where = "the top level"
				}
				hint := ""
				if s := closest(k.Value, names); s != "" {
					hint = fmt.Sprintf(" (did you mean %q?)", s)
				}
				return fmt.Errorf("%s:%d: unknown field %q in %s%s; allowed: %s", c.displayPath(), k.Line, k.Value, where, hint, strings.Join(names, ", "))
			}
			if err := checkKnownKeys(v, ft, join(path, k.Value), c); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, e := range n.Content {
			if err := checkKnownKeys(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), c); err != nil {
				return err
			}
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkKnownKeys(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value), c); err != nil {
				return err
			}
		}
	}
	return nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// closest suggests a known key for a likely typo.
func closest(s string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(s, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

var yamlLineRE = regexp.MustCompile(`line (\d+): (.*)`)

// yamlError turns yaml.v3's messages into file:line: field: message.
func (c *Config) yamlError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		m := yamlLineRE.FindStringSubmatch(te.Errors[0])
		if m != nil {
			line, _ := strconv.Atoi(m[1])
			field := c.lines.pathAt(line)
			msg := friendlyTypeError(m[2])
			if field != "" {
				return fmt.Errorf("%s:%d: %s: %s", c.displayPath(), line, field, msg)
			}
			return fmt.Errorf("%s:%d: %s", c.displayPath(), line, msg)
		}
	}
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("%s:%s: %s", c.displayPath(), m[1], m[2])
	}
	return fmt.Errorf("%s: %v", c.displayPath(), err)
}

// convertSchemas turns inline YAML JSON Schemas into JSON.
func (c *Config) convertSchemas() error {
	conv := func(n *yaml.Node, path string) (json.RawMessage, error) {
		if n.Kind == 0 {
			return nil, nil
		}
		var v any
		if n.Kind == yaml.ScalarNode {
			// A schema may be given as a JSON string.
			if !json.Valid([]byte(n.Value)) {
				return nil, c.Errorf(path, "not valid JSON: write the schema as YAML or as a JSON string")
			}
			return json.RawMessage(n.Value), nil
		}
		if err := n.Decode(&v); err != nil {
			return nil, c.Errorf(path, "%v", err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, c.Errorf(path, "cannot express as JSON: %v", err)
		}
		return b, nil
	}
	for i := range c.Prompts {
		s, err := conv(&c.Prompts[i].SchemaNode, fmt.Sprintf("prompts[%d].json_schema", i))
		if err != nil {
			return err
		}
		c.Prompts[i].JSONSchema = s
	}
	for i := range c.Scorers {
		s, err := conv(&c.Scorers[i].SchemaNode, fmt.Sprintf("scorers[%d].schema", i))
		if err != nil {
			return err
		}
		c.Scorers[i].Schema = s
	}
	return nil
}

// lineIndex maps field paths ("models[1].model") to their lines.
type lineIndex map[string]int

func indexLines(root *yaml.Node) lineIndex {
	idx := lineIndex{}
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := join(path, n.Content[i].Value)
				idx[p] = n.Content[i].Line
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for i, e := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				idx[p] = e.Line
				walk(e, p)
			}
		}
	}
	walk(root, "")
	return idx
}

// lineOf finds the line of path, or of its nearest parent that exists.
func (l lineIndex) lineOf(path string) int {
	for path != "" {
		if n, ok := l[path]; ok {
			return n
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// pathAt finds the deepest field path declared on a line.
func (l lineIndex) pathAt(line int) string {
	best := ""
	for p, n := range l {
		if n == line && len(p) > len(best) {
			best = p
		}
	}
	return best
}

var unmarshalRE = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (.+)$")

// friendlyTypeError rewrites yaml.v3's Go-flavoured type errors in the
// config's own terms.
func friendlyTypeError(msg string) string {
	m := unmarshalRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	kinds := map[string]string{"str": "text", "int": "a number", "float": "a number", "bool": "true or false", "seq": "a list", "map": "a mapping"}
	got := kinds[m[1]]
	if got == "" {
		got = m[1]
	}
	want := m[3]
	switch {
	case strings.HasPrefix(want, "int"):
		want = "a whole number"
	case strings.HasPrefix(want, "float"):
		want = "a number"
	case want == "bool":
		want = "true or false"
	case want == "time.Duration":
		want = "a duration such as 30s or 2m"
	case want == "string":
		want = "text"
	case strings.HasPrefix(want, "[]"):
		want = "a list"
	case strings.HasPrefix(want, "map["), strings.HasPrefix(want, "config."):
		want = "a mapping (key: value lines)"
	}
	if m[2] != "" {
		return fmt.Sprintf("want %s, got %s %q", want, got, m[2])
	}
	return fmt.Sprintf("want %s, got %s", want, got)
}
