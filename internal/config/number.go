package config

import (
	"fmt"
	"math"
	"reflect"
	"time"

	"gopkg.in/yaml.v3"
)

var durationType = reflect.TypeOf(time.Duration(0))

// checkNumber refuses numbers that yaml.v3 would quietly change or that
// would slip past the range checks: a fraction given for a whole-number
// field is truncated (repeats: 1.5 would run once), and .nan or .inf pass
// every "between 0 and 1" test because comparisons with NaN are false.
// path is the field's place in the file, for the error.
func checkNumber(n *yaml.Node, t reflect.Type, path string, c *Config) error {
	if t == durationType {
		return nil // yaml.v3 takes only "30s"-style text for these, and says so
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.ShortTag() == "!!float" {
			return fmt.Errorf("%s:%d: %s: want a whole number, got %q", c.displayPath(), n.Line, path, n.Value)
		}
	case reflect.Float32, reflect.Float64:
		var f float64
		if n.ShortTag() == "!!float" && n.Decode(&f) == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return fmt.Errorf("%s:%d: %s: want a finite number, got %q", c.displayPath(), n.Line, path, n.Value)
		}
	}
	return nil
}
