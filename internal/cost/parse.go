package cost

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// tableFile is one parsed price file, before merging.
type tableFile struct {
	version  string
	date     string
	sources  map[string]string
	prices   []entry
	fineTune []entry
}

type entry struct {
	name                                 string
	input, output, cachedInput, training *float64
	aliases                              []string
	source                               string
	line                                 int
}

func (e entry) price() Price {
	p := Price{InputPerM: *e.input, OutputPerM: *e.output}
	if e.cachedInput != nil {
		p.CachedInputPerM = *e.cachedInput
	}
	return p
}

var (
	topKeys      = []string{"version", "date", "currency", "sources", "prices", "fine_tuning"}
	priceKeys    = []string{"input", "output", "cached_input", "aliases", "source"}
	fineTuneKeys = []string{"training", "input", "output", "cached_input", "aliases", "source"}
)

// fileErr locates a problem in a price file the way a user fixes it: file,
// line, and the dotted path of the field.
func fileErr(file string, n *yaml.Node, path, format string, args ...any) error {
	return lineErr(file, n.Line, path, format, args...)
}

func lineErr(file string, line int, path, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s: %s", file, line, path, fmt.Sprintf(format, args...))
}

// parseTable reads a price file. Every mistake is reported with its line
// and field, and unknown keys are errors, since a misspelt "ouptut" would
// otherwise silently price output at zero.
func parseTable(file string, data []byte) (*tableFile, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: the file is empty: it needs a prices: section", file)
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fileErr(file, root, "(top level)", "want a mapping with keys %s", strings.Join(topKeys, ", "))
	}
	tf := &tableFile{sources: map[string]string{}}
	var err error
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "version":
			tf.version, err = scalarString(file, v, "version")
		case "date":
			tf.date, err = scalarString(file, v, "date")
			if err == nil {
				if _, perr := time.Parse(time.DateOnly, tf.date); perr != nil {
					err = fileErr(file, v, "date", "%q is not a date: write YYYY-MM-DD", tf.date)
				}
			}
		case "currency":
			var c string
			c, err = scalarString(file, v, "currency")
			if err == nil && c != "USD" {
				err = fileErr(file, v, "currency", "%q is not supported: prices must be in USD", c)
			}
		case "sources":
			err = parseSources(file, v, tf.sources)
		case "prices":
			tf.prices, err = parseEntries(file, v, "prices", priceKeys, false)
		case "fine_tuning":
			tf.fineTune, err = parseEntries(file, v, "fine_tuning", fineTuneKeys, true)
		default:
			err = fileErr(file, k, k.Value, "unknown key: the known keys are %s", strings.Join(topKeys, ", "))
		}
		if err != nil {
			return nil, err
		}
	}
	if err := checkSources(file, tf); err != nil {
		return nil, err
	}
	if err := checkNames(file, tf.prices, "prices"); err != nil {
		return nil, err
	}
	if err := checkNames(file, tf.fineTune, "fine_tuning"); err != nil {
		return nil, err
	}
	return tf, nil
}

func scalarString(file string, n *yaml.Node, path string) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", fileErr(file, n, path, "want a single value")
	}
	return strings.TrimSpace(n.Value), nil
}

func parseSources(file string, n *yaml.Node, into map[string]string) error {
	if n.Kind != yaml.MappingNode {
		return fileErr(file, n, "sources", "want a mapping from a source id to the pages and date it was read")
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		text, err := scalarString(file, v, "sources."+k.Value)
		if err != nil {
			return err
		}
		into[k.Value] = text
	}
	return nil
}

func parseEntries(file string, n *yaml.Node, section string, known []string, ft bool) ([]entry, error) {
	if n.Kind != yaml.MappingNode {
		return nil, fileErr(file, n, section, "want a mapping from model name to its prices")
	}
	var out []entry
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		path := section + "." + k.Value
		name := key(k.Value)
		if name == "" {
			return nil, fileErr(file, k, section, "a model name is empty")
		}
		if v.Kind != yaml.MappingNode {
			return nil, fileErr(file, v, path, "want a mapping with %s", strings.Join(known, ", "))
		}
		e := entry{name: name, line: k.Line}
		for j := 0; j+1 < len(v.Content); j += 2 {
			fk, fv := v.Content[j], v.Content[j+1]
			fpath := path + "." + fk.Value
			var err error
			switch fk.Value {
			case "input":
				e.input, err = usd(file, fv, fpath)
			case "output":
				e.output, err = usd(file, fv, fpath)
			case "cached_input":
				e.cachedInput, err = usd(file, fv, fpath)
			case "training":
				if ft {
					e.training, err = usd(file, fv, fpath)
				} else {
					err = fileErr(file, fk, fpath, "training prices belong under fine_tuning:, not prices:")
				}
			case "aliases":
				e.aliases, err = aliasList(file, fv, fpath)
			case "source":
				e.source, err = scalarString(file, fv, fpath)
			default:
				err = fileErr(file, fk, fpath, "unknown key: the known keys are %s", strings.Join(known, ", "))
			}
			if err != nil {
				return nil, err
			}
		}
		var missing []string
		if ft && e.training == nil {
			missing = append(missing, "training")
		}
		if e.input == nil {
			missing = append(missing, "input")
		}
		if e.output == nil {
			missing = append(missing, "output")
		}
		if len(missing) > 0 {
			return nil, fileErr(file, v, path, "missing %s (USD per 1M tokens; write 0 for a price that is free)", strings.Join(missing, " and "))
		}
		out = append(out, e)
	}
	return out, nil
}

func usd(file string, n *yaml.Node, path string) (*float64, error) {
	var f float64
	if n.Kind != yaml.ScalarNode || n.Decode(&f) != nil {
		return nil, fileErr(file, n, path, "%q is not a number: write USD per 1M tokens, e.g. 0.15", n.Value)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return nil, fileErr(file, n, path, "%s is not a price: it must be zero or more", n.Value)
	}
	return &f, nil
}

func aliasList(file string, n *yaml.Node, path string) ([]string, error) {
	if n.Kind != yaml.SequenceNode {
		return nil, fileErr(file, n, path, "want a list of other names for the model, e.g. [gpt-4o-2024-08-06]")
	}
	var out []string
	for _, a := range n.Content {
		s, err := scalarString(file, a, path)
		if err != nil {
			return nil, err
		}
		if s == "" {
			return nil, fileErr(file, a, path, "an alias is empty")
		}
		out = append(out, key(s))
	}
	return out, nil
}

// checkSources makes every entry's source name an id under sources: in the
// same file, so a citation cannot point nowhere.
func checkSources(file string, tf *tableFile) error {
	for section, entries := range map[string][]entry{"prices": tf.prices, "fine_tuning": tf.fineTune} {
		for _, e := range entries {
			if e.source == "" {
				continue
			}
			if _, ok := tf.sources[e.source]; !ok {
				ids := make([]string, 0, len(tf.sources))
				for id := range tf.sources {
					ids = append(ids, id)
				}
				slices.Sort(ids)
				known := "none are defined"
				if len(ids) > 0 {
					known = "known: " + strings.Join(ids, ", ")
				}
				return lineErr(file, e.line, section+"."+e.name+".source", "%q is not an id under sources: (%s)", e.source, known)
			}
		}
	}
	return nil
}

// checkNames refuses a model listed twice or an alias that would make a
// name ambiguous.
func checkNames(file string, entries []entry, section string) error {
	owner := map[string]string{}
	for _, e := range entries {
		if prev, dup := owner[e.name]; dup {
			return lineErr(file, e.line, section+"."+e.name, "%s", describeClash(e.name, prev, e.name))
		}
		owner[e.name] = e.name
	}
	for _, e := range entries {
		for _, a := range e.aliases {
			if prev, dup := owner[a]; dup {
				return lineErr(file, e.line, section+"."+e.name+".aliases", "%s", describeClash(a, prev, e.name))
			}
			owner[a] = e.name
		}
	}
	return nil
}

func describeClash(name, first, second string) string {
	if first == second {
		return fmt.Sprintf("model %q is listed twice", name)
	}
	return fmt.Sprintf("%q names both %q and %q: keep it on one", name, first, second)
}
