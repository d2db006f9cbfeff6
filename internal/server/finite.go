package server

import (
	"math"
	"reflect"
)

// finite replaces NaN and ±Inf in v (a pointer) with -1, in place.
// Summaries use NaN for "no data" (a candidate with no results yet), which
// JSON cannot carry; the reports and the UI read -1 as "no figure".
func finite(v any) { fix(reflect.ValueOf(v)) }

func fix(v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			fix(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fix(v.Field(i))
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			fix(v.Index(i))
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			e := v.MapIndex(k)
			if e.Kind() == reflect.Float64 && bad(e.Float()) {
				v.SetMapIndex(k, reflect.ValueOf(-1.0).Convert(e.Type()))
			}
		}
	case reflect.Float64, reflect.Float32:
		if v.CanSet() && bad(v.Float()) {
			v.SetFloat(-1)
		}
	}
}

func bad(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }
