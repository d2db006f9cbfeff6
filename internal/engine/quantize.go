package engine

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"unsafe"
)

// quantTypes maps the names users write to llama.cpp's llama_ftype.
var quantTypes = map[string]int32{
	"F32": 0, "F16": 1, "BF16": 32, "Q8_0": 7, "Q4_0": 2, "Q4_1": 3, "Q5_0": 8, "Q5_1": 9,
	"Q2_K": 10, "Q3_K_S": 11, "Q3_K_M": 12, "Q3_K_L": 13, "Q4_K_S": 14, "Q4_K_M": 15,
	"Q5_K_S": 16, "Q5_K_M": 17, "Q6_K": 18,
}

// QuantTypes lists the types Quantize accepts.
func QuantTypes() []string {
	out := make([]string, 0, len(quantTypes))
	for k := range quantTypes {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Quantize writes a copy of the model at in to out with its weights in the
// given type (e.g. "Q8_0", "Q4_K_M"). Tensors whose rows do not fit the
// type's blocks are kept in a compatible type, as llama.cpp decides.
func Quantize(in, out, typ string, threads int) error {
	ensureInit()
	ftype, ok := quantTypes[strings.ToUpper(typ)]
	if !ok {
		return fmt.Errorf("quantize %s: unknown type %q (known: %s)", in, typ, strings.Join(QuantTypes(), ", "))
	}
	if _, err := checkModelFile(in); err != nil {
		return fmt.Errorf("quantize: %w", err)
	}
	if abs1, err1 := filepath.Abs(in); err1 == nil {
		if abs2, err2 := filepath.Abs(out); err2 == nil && abs1 == abs2 {
			return fmt.Errorf("quantize %s: the output must be a different file", in)
		}
	}
	if st, err := os.Stat(filepath.Dir(out)); err != nil || !st.IsDir() {
		return fmt.Errorf("quantize %s: the output directory %s does not exist", in, filepath.Dir(out))
	}
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	// Quantize into a temporary name and rename, so a failure never leaves
	// a half-written model under the final name.
	tmp := out + ".tmp"
	cin, ctmp := C.CString(in), C.CString(tmp)
	defer C.free(unsafe.Pointer(cin))
	defer C.free(unsafe.Pointer(ctmp))
	C.tl_clear_error()
	if rc := C.tl_quantize(cin, ctmp, C.int32_t(ftype), C.int32_t(threads)); rc != 0 {
		os.Remove(tmp)
		return fmt.Errorf("quantize %s to %s: %s", in, typ, withDetail("llama.cpp failed"))
	}
	if err := os.Rename(tmp, out); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("quantize %s: %w", in, err)
	}
	return nil
}
