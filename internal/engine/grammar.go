package engine

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// GrammarFromJSONSchema turns a JSON Schema into a GBNF grammar (rule
// "root") that only admits JSON documents of that shape, so generation can
// be forced to produce it.
//
// Supported: type (one or a list), properties (written in the schema's
// order), items, minItems/maxItems, minLength/maxLength, enum, const,
// anyOf/oneOf, a one-element allOf, and $ref into #/$defs or
// #/definitions (recursion included). Every listed property is generated,
// optional ones too, which still conforms. Not enforced: pattern, format,
// numeric ranges and additional properties beyond those listed.
func GrammarFromJSONSchema(schema []byte) (string, error) {
	root, err := parseOrdered(schema)
	if err != nil {
		return "", fmt.Errorf("JSON schema: %w", err)
	}
	c := &converter{rules: map[string]string{}, root: root, refs: map[string]string{}}
	expr, err := c.visit(root, "doc")
	if err != nil {
		return "", fmt.Errorf("JSON schema: %w", err)
	}
	c.rules["root"] = expr
	var sb strings.Builder
	sb.WriteString("root ::= " + expr + "\n")
	names := make([]string, 0, len(c.rules))
	for n := range c.rules {
		if n != "root" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		sb.WriteString(n + " ::= " + c.rules[n] + "\n")
	}
	sb.WriteString(baseRules)
	return sb.String(), nil
}

// baseRules are the JSON building blocks. Whitespace and number lengths
// are bounded so a model cannot loop forever inside a token it may not end.
const baseRules = `ws ::= (" " | "\n" [ \t]{0,16})?
string ::= "\"" char* "\""
char ::= [^"\\\x00-\x1f] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})
integer ::= "-"? ("0" | [1-9] [0-9]{0,15})
number ::= integer ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?
boolean ::= "true" | "false"
null ::= "null"
value ::= object | array | string | number | boolean | null
object ::= "{" ws (string ws ":" ws value (ws "," ws string ws ":" ws value)*)? ws "}"
array ::= "[" ws (value (ws "," ws value)*)? ws "]"
`

type converter struct {
	rules map[string]string
	root  *oval
	refs  map[string]string // $ref -> rule name
	n     int
}

var ruleNameChars = regexp.MustCompile(`[^a-zA-Z0-9]+`)

// newRule reserves a unique rule name derived from hint.
func (c *converter) newRule(hint string) string {
	base := strings.Trim(ruleNameChars.ReplaceAllString(hint, "-"), "-")
	if base == "" {
		base = "r"
	}
	name := base
	for i := 2; ; i++ {
		if _, taken := c.rules[name]; !taken && name != "root" && !isBaseRule(name) {
			break
		}
		name = fmt.Sprintf("%s-%d", base, i)
	}
	c.rules[name] = "" // reserved; filled in by the caller
	return name
}

func isBaseRule(n string) bool {
	switch n {
	case "ws", "string", "char", "integer", "number", "boolean", "null", "value", "object", "array":
		return true
	}
	return false
}

// visit returns a GBNF expression for schema s; name hints at rule names.
func (c *converter) visit(s *oval, name string) (string, error) {
	c.n++
	if c.n > 10000 {
		return "", fmt.Errorf("schema is too large")
	}
	switch s.kind {
	case kBool:
		if s.b {
			return "value", nil
		}
		return "", fmt.Errorf("%s: the schema false admits nothing", name)
	case kObject:
	default:
		return "", fmt.Errorf("%s: a schema must be an object or a boolean", name)
	}
	if ref, ok := s.get("$ref"); ok {
		return c.ref(ref, name)
	}
	if v, ok := s.get("const"); ok {
		return gbnfLiteral(string(v.raw)), nil
	}
	if v, ok := s.get("enum"); ok {
		if v.kind != kArray || len(v.arr) == 0 {
			return "", fmt.Errorf("%s: enum must be a non-empty array", name)
		}
		alts := make([]string, len(v.arr))
		for i, e := range v.arr {
			alts[i] = gbnfLiteral(string(e.raw))
		}
		return group(alts), nil
	}
	for _, key := range []string{"anyOf", "oneOf"} {
		if v, ok := s.get(key); ok {
			return c.alternatives(v, name+"-"+key)
		}
	}
	if v, ok := s.get("allOf"); ok {
		if v.kind != kArray || len(v.arr) != 1 {
			return "", fmt.Errorf("%s: allOf is only supported with one schema", name)
		}
		return c.visit(v.arr[0], name)
	}
	t, ok := s.get("type")
	if !ok {
		switch {
		case s.has("properties"):
			return c.object(s, name)
		case s.has("items"):
			return c.array(s, name)
		}
		return "value", nil
	}
	switch t.kind {
	case kString:
		return c.typed(s, t.str, name)
	case kArray:
		alts := make([]string, 0, len(t.arr))
		for _, e := range t.arr {
			if e.kind != kString {
				return "", fmt.Errorf("%s: type list must hold strings", name)
			}
			a, err := c.typed(s, e.str, name+"-"+e.str)
			if err != nil {
				return "", err
			}
			alts = append(alts, a)
		}
		return group(alts), nil
	}
	return "", fmt.Errorf("%s: type must be a string or a list of strings", name)
}

func (c *converter) alternatives(v *oval, name string) (string, error) {
	if v.kind != kArray || len(v.arr) == 0 {
		return "", fmt.Errorf("%s must be a non-empty array", name)
	}
	alts := make([]string, len(v.arr))
	for i, e := range v.arr {
		a, err := c.visit(e, fmt.Sprintf("%s-%d", name, i))
		if err != nil {
			return "", err
		}
		alts[i] = a
	}
	return group(alts), nil
}

func (c *converter) typed(s *oval, t, name string) (string, error) {
	switch t {
	case "object":
		return c.object(s, name)
	case "array":
		return c.array(s, name)
	case "string":
		lo, hi, err := bounds(s, "minLength", "maxLength", name)
		if err != nil {
			return "", err
		}
		if lo == 0 && hi < 0 {
			return "string", nil
		}
		return `"\"" ` + repeat("char", lo, hi) + ` "\""`, nil
	case "number", "integer", "boolean", "null":
		return t, nil
	}
	return "", fmt.Errorf("%s: unknown type %q", name, t)
}

func (c *converter) object(s *oval, name string) (string, error) {
	props, ok := s.get("properties")
	if !ok || props.kind != kObject || len(props.obj) == 0 {
		if ap, ok := s.get("additionalProperties"); ok && ap.kind == kBool && !ap.b {
			return `"{" ws "}"`, nil
		}
		return "object", nil
	}
	rule := c.newRule(name)
	parts := []string{`"{" ws`}
	for i, p := range props.obj {
		expr, err := c.visit(p.val, name+"-"+p.key)
		if err != nil {
			return "", err
		}
		key := jsonString(p.key)
		if i > 0 {
			parts = append(parts, `"," ws`)
		}
		parts = append(parts, gbnfLiteral(key), `ws ":" ws`, expr, "ws")
	}
	parts = append(parts, `"}"`)
	c.rules[rule] = strings.Join(parts, " ")
	return rule, nil
}

func (c *converter) array(s *oval, name string) (string, error) {
	item := "value"
	if it, ok := s.get("items"); ok {
		var err error
		if item, err = c.visit(it, name+"-item"); err != nil {
			return "", err
		}
	}
	lo, hi, err := bounds(s, "minItems", "maxItems", name)
	if err != nil {
		return "", err
	}
	rule := c.newRule(name)
	sep := `ws "," ws ` + item
	var body string
	switch {
	case hi == 0:
		body = ""
	case lo == 0:
		body = "(" + item + " " + repeat("("+sep+")", 0, decr(hi)) + ")?"
	default:
		body = item + " " + repeat("("+sep+")", lo-1, decr(hi))
	}
	c.rules[rule] = strings.TrimSpace(`"[" ws ` + body + ` ws "]"`)
	return rule, nil
}

func decr(hi int) int {
	if hi < 0 {
		return -1
	}
	return hi - 1
}

// repeat writes x{lo,hi}; hi < 0 means no upper bound.
func repeat(x string, lo, hi int) string {
	switch {
	case hi < 0 && lo == 0:
		return x + "*"
	case hi < 0 && lo == 1:
		return x + "+"
	case hi < 0:
		return fmt.Sprintf("%s{%d,}", x, lo)
	case lo == hi:
		return fmt.Sprintf("%s{%d}", x, lo)
	}
	return fmt.Sprintf("%s{%d,%d}", x, lo, hi)
}

func bounds(s *oval, minKey, maxKey, name string) (int, int, error) {
	lo, hi := 0, -1
	if v, ok := s.get(minKey); ok {
		n, err := v.count()
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %s: %w", name, minKey, err)
		}
		lo = n
	}
	if v, ok := s.get(maxKey); ok {
		n, err := v.count()
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %s: %w", name, maxKey, err)
		}
		hi = n
	}
	if hi >= 0 && hi < lo {
		return 0, 0, fmt.Errorf("%s: %s %d is below %s %d", name, maxKey, hi, minKey, lo)
	}
	return lo, hi, nil
}

func (c *converter) ref(v *oval, name string) (string, error) {
	if v.kind != kString {
		return "", fmt.Errorf("%s: $ref must be a string", name)
	}
	if r, ok := c.refs[v.str]; ok {
		return r, nil
	}
	var path []string
	switch {
	case strings.HasPrefix(v.str, "#/$defs/"):
		path = []string{"$defs", strings.TrimPrefix(v.str, "#/$defs/")}
	case strings.HasPrefix(v.str, "#/definitions/"):
		path = []string{"definitions", strings.TrimPrefix(v.str, "#/definitions/")}
	default:
		return "", fmt.Errorf("%s: $ref %q: only #/$defs/NAME and #/definitions/NAME are supported", name, v.str)
	}
	defs, ok := c.root.get(path[0])
	if !ok {
		return "", fmt.Errorf("%s: $ref %q: the schema has no %s", name, v.str, path[0])
	}
	target, ok := defs.get(path[1])
	if !ok {
		return "", fmt.Errorf("%s: $ref %q points at nothing", name, v.str)
	}
	// The rule is named before it is built, so a recursive reference
	// inside it resolves to the rule itself.
	rule := c.newRule("def-" + path[1])
	c.refs[v.str] = rule
	expr, err := c.visit(target, "def-"+path[1])
	if err != nil {
		return "", err
	}
	c.rules[rule] = expr
	return rule, nil
}

func group(alts []string) string {
	if len(alts) == 1 {
		return alts[0]
	}
	return "(" + strings.Join(alts, " | ") + ")"
}

// gbnfLiteral quotes s as a GBNF string literal.
func gbnfLiteral(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			sb.WriteString(`\"`)
		case '\\':
			sb.WriteString(`\\`)
		case '\n':
			sb.WriteString(`\n`)
		case '\r':
			sb.WriteString(`\r`)
		case '\t':
			sb.WriteString(`\t`)
		default:
			sb.WriteRune(r)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}
