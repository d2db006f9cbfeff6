package cost

import (
	_ "embed"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
)

//go:embed prices.yaml
var embeddedPrices []byte

// EmbeddedFile is the name errors give the built-in table.
const EmbeddedFile = "prices.yaml (built in)"

// Table is a price table: the built-in one, possibly with a user's file
// merged over it. Lookups are case-insensitive. A Table is safe for
// concurrent use.
type Table struct {
	mu        sync.RWMutex
	version   string
	date      string
	sources   map[string]string
	prices    map[string]Price         // canonical name -> price
	fineTune  map[string]FineTunePrice // canonical base -> price
	aliases   map[string]string        // alias -> canonical, for prices
	ftAliases map[string]string        // alias -> canonical, for fine_tuning
}

// LoadTable returns the built-in price table with the file at overridePath
// merged over it ("" for none). An entry in the override replaces the
// built-in entry of the same model whole, so an override never mixes its
// input price with the old output price.
func LoadTable(overridePath string) (*Table, error) {
	base, err := parseTable(EmbeddedFile, embeddedPrices)
	if err != nil {
		// A broken built-in table is a build defect, but say where.
		return nil, err
	}
	t := newTable(base)
	if overridePath == "" {
		return t, nil
	}
	data, err := os.ReadFile(overridePath)
	if err != nil {
		return nil, fmt.Errorf("read price overrides: %w", err)
	}
	over, err := parseTable(overridePath, data)
	if err != nil {
		return nil, err
	}
	t.merge(over, overridePath)
	return t, nil
}

func newTable(f *tableFile) *Table {
	t := &Table{
		version:   f.version,
		date:      f.date,
		sources:   map[string]string{},
		prices:    map[string]Price{},
		fineTune:  map[string]FineTunePrice{},
		aliases:   map[string]string{},
		ftAliases: map[string]string{},
	}
	t.merge(f, "")
	return t
}

func (t *Table) merge(f *tableFile, overridePath string) {
	for id, text := range f.sources {
		t.sources[id] = text
	}
	sourceOf := func(id string) string {
		if overridePath != "" && id == "" {
			return overridePath
		}
		return id
	}
	for _, e := range f.prices {
		p := e.price()
		p.Source = sourceOf(e.source)
		put(t.aliases, e.name, e.aliases, func() { t.prices[e.name] = p })
	}
	for _, e := range f.fineTune {
		ft := FineTunePrice{TrainingPerM: *e.training, Inference: e.price()}
		ft.Inference.Source = sourceOf(e.source)
		put(t.ftAliases, e.name, e.aliases, func() { t.fineTune[e.name] = ft })
	}
}

// put stores an entry under its canonical name and aliases. A name that
// was an alias of another entry stops being one, so an override named after
// a dated snapshot takes effect.
func put(aliases map[string]string, name string, as []string, store func()) {
	delete(aliases, name)
	store()
	for _, a := range as {
		aliases[a] = name
	}
}

// Set adds or replaces one model's price, as a lab's `prices:` section
// does.
func (t *Table) Set(model string, p Price) {
	name := key(model)
	if p.Source == "" {
		p.Source = "tunelab.yaml prices"
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	put(t.aliases, name, nil, func() { t.prices[name] = p })
}

// Lookup returns a model's price. It accepts the names the table lists
// (canonical names and dated snapshots given as aliases) and OpenAI
// fine-tuned model names, "ft:BASE:org:suffix:id", which are priced by
// BASE's fine-tuning entry. Dated snapshots not listed are not guessed:
// providers have priced snapshots of one model differently. When ok is
// false the caller should say "no price for model X: add it under prices:
// in tunelab.yaml".
func (t *Table) Lookup(model string) (p Price, ok bool) {
	name := key(model)
	t.mu.RLock()
	defer t.mu.RUnlock()
	if p, ok := t.prices[name]; ok {
		return p, true
	}
	if canon, ok := t.aliases[name]; ok {
		p, ok := t.prices[canon]
		return p, ok
	}
	if rest, isFT := strings.CutPrefix(name, "ft:"); isFT {
		base, _, _ := strings.Cut(rest, ":")
		if ft, ok := t.fineTuneLocked(base); ok {
			return ft.Inference, true
		}
	}
	return Price{}, false
}

// FineTune returns the fine-tuning price for a base model, by its name or
// an alias.
func (t *Table) FineTune(base string) (FineTunePrice, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.fineTuneLocked(key(base))
}

func (t *Table) fineTuneLocked(name string) (FineTunePrice, bool) {
	if ft, ok := t.fineTune[name]; ok {
		return ft, true
	}
	if canon, ok := t.ftAliases[name]; ok {
		ft, ok := t.fineTune[canon]
		return ft, ok
	}
	return FineTunePrice{}, false
}

// Version is the built-in table's version and the date its prices were
// checked, for reports: "2026.11.23 (prices checked 2026-11-23)".
func (t *Table) Version() string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.date == "" {
		return t.version
	}
	return fmt.Sprintf("%s (prices checked %s)", t.version, t.date)
}

// Source returns the text of a source id named by a price, e.g. the pages
// its figures were checked against; ok is false for unknown ids.
func (t *Table) Source(id string) (string, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	s, ok := t.sources[id]
	return s, ok
}

// Models lists the canonical model names that have a price, sorted.
func (t *Table) Models() []string {
	t.mu.RLock()
	defer t.mu.RUnlock()
	out := make([]string, 0, len(t.prices))
	for m := range t.prices {
		out = append(out, m)
	}
	slices.Sort(out)
	return out
}

func key(model string) string {
	return strings.ToLower(strings.TrimSpace(model))
}
