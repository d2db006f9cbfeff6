package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/tunelab/tunelab/internal/fsutil"
	"github.com/tunelab/tunelab/internal/lab"
)

// ErrPromptExists matches (errors.Is) adding a prompt whose name is taken.
var ErrPromptExists = errors.New("a prompt with that name exists")

// AddPrompt appends v to the prompts list of the config file at path,
// keeping the rest of the file (its comments included). The new file is
// parsed and validated before it replaces the old one, so a bad variant
// leaves the config as it was.
func AddPrompt(path string, v lab.Variant) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("add prompt: %w", err)
	}
	old, err := Parse(raw, path)
	if err != nil {
		return fmt.Errorf("add prompt: %w", err)
	}
	for _, p := range old.Prompts {
		if p.Name == v.Name {
			return fmt.Errorf("prompt %q: %w; choose another name", v.Name, ErrPromptExists)
		}
	}
	entry, err := promptNode(v)
	if err != nil {
		return fmt.Errorf("prompt %q: %w", v.Name, err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("add prompt: %w", err)
	}
	root := doc.Content[0]
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "prompts" {
			list = root.Content[i+1]
		}
	}
	if list == nil {
		list = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		root.Content = append(root.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "prompts"}, list)
	}
	list.Content = append(list.Content, entry)
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return fmt.Errorf("add prompt: %w", err)
	}
	if _, err := Parse(b.Bytes(), path); err != nil {
		return fmt.Errorf("prompt %q would make the config invalid: %w", v.Name, err)
	}
	if err := fsutil.WriteFileAtomic(path, b.Bytes(), 0o644); err != nil {
		return fmt.Errorf("add prompt: %w", err)
	}
	return nil
}

// promptNode writes a variant as the config spells a prompt.
func promptNode(v lab.Variant) (*yaml.Node, error) {
	if v.Name == "" {
		return nil, errors.New("a prompt needs a name")
	}
	m := yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	add := func(k string, val any) error {
		var n yaml.Node
		if err := n.Encode(val); err != nil {
			return err
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k}, &n)
		return nil
	}
	fields := []struct {
		k string
		v string
	}{{"name", v.Name}, {"technique", v.Technique}, {"system", v.System}, {"instructions", v.Instructions},
		{"template", v.Template}, {"answer_pattern", v.AnswerPattern}, {"answer_field", v.AnswerField}}
	for _, f := range fields {
		if f.v != "" {
			if err := add(f.k, f.v); err != nil {
				return nil, err
			}
		}
	}
	if v.ChainOfThought {
		if err := add("chain_of_thought", true); err != nil {
			return nil, err
		}
	}
	if fs := v.FewShot; fs != nil && fs.K > 0 {
		spec := map[string]any{"k": fs.K, "select": fs.Select}
		if len(fs.IDs) > 0 {
			spec["ids"] = fs.IDs
		}
		if fs.Seed != 0 {
			spec["seed"] = fs.Seed
		}
		if err := add("few_shot", spec); err != nil {
			return nil, err
		}
	}
	if len(v.JSONSchema) > 0 {
		var schema any
		if err := json.Unmarshal(v.JSONSchema, &schema); err != nil {
			return nil, fmt.Errorf("json_schema: %w", err)
		}
		if err := add("json_schema", schema); err != nil {
			return nil, err
		}
	}
	return &m, nil
}
