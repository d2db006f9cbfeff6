package local

import (
	"fmt"
	"path/filepath"
	"sync"

	"github.com/tunelab/tunelab/internal/engine"
)

// shared holds every model the process has loaded, so candidates that use
// the same model file (say, with different prompts, or with and without an
// adapter) share one copy of its weights.
var shared = &cache{models: map[modelKey]*modelEntry{}}

type modelKey struct {
	path string
	opts engine.Options
}

type modelEntry struct {
	model    *engine.Model
	refs     int
	adapters map[string]*adapterEntry
}

type adapterEntry struct {
	adapter *engine.Adapter
	refs    int
}

type cache struct {
	mu     sync.Mutex
	models map[modelKey]*modelEntry
}

// acquire returns the model at path (and the adapter, when adapterPath is
// set), loading what is not loaded yet, and a function that lets go of
// them. Loading happens under the lock: two providers asking for the same
// model at once must not load it twice.
func (c *cache) acquire(path string, opts engine.Options, adapterPath string) (*engine.Model, *engine.Adapter, func(), error) {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if adapterPath != "" {
		if abs, err := filepath.Abs(adapterPath); err == nil {
			adapterPath = abs
		}
	}
	key := modelKey{path, opts}
	c.mu.Lock()
	defer c.mu.Unlock()
	me := c.models[key]
	if me == nil {
		m, err := engine.Load(path, opts)
		if err != nil {
			return nil, nil, nil, err
		}
		me = &modelEntry{model: m, adapters: map[string]*adapterEntry{}}
		c.models[key] = me
	}
	var ae *adapterEntry
	if adapterPath != "" {
		ae = me.adapters[adapterPath]
		if ae == nil {
			a, err := me.model.LoadAdapter(adapterPath)
			if err != nil {
				if me.refs == 0 {
					me.model.Close()
					delete(c.models, key)
				}
				return nil, nil, nil, fmt.Errorf("model %s: %w", path, err)
			}
			ae = &adapterEntry{adapter: a}
			me.adapters[adapterPath] = ae
		}
		ae.refs++
	}
	me.refs++

	var once sync.Once
	release := func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if ae != nil {
				if ae.refs--; ae.refs == 0 {
					ae.adapter.Close()
					delete(me.adapters, adapterPath)
				}
			}
			if me.refs--; me.refs == 0 {
				me.model.Close()
				delete(c.models, key)
			}
		})
	}
	var adapter *engine.Adapter
	if ae != nil {
		adapter = ae.adapter
	}
	return me.model, adapter, release, nil
}

// loaded counts the models in memory, for tests.
func (c *cache) loaded() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.models)
}
