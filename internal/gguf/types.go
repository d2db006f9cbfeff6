// Package gguf reads and writes GGUF files, the model format of llama.cpp
// and ggml, in pure Go, and generates small llama-architecture models with
// random weights and a tokenizer vocabulary learned from bundled text.
//
// It exists for two reasons. First, llama.cpp aborts the whole process on
// some malformed inputs, so the engine checks a file's header here before
// handing it to C. Second, no model weights can be downloaded where tunelab
// is built and tested, so the tests and benchmarks make their own models
// (GenerateLlama) and LoRA adapters (WriteLoRA) in llama.cpp's formats.
package gguf

import (
	"errors"
	"fmt"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// Version is the GGUF version this package writes; it reads 2 and 3,
// which differ from 1 in using 64-bit counts and lengths.
const Version = 3

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// MaxDims is ggml's limit on tensor rank.
const MaxDims = 4

// Sentinel errors, wrapped with the file and what was wrong, so callers can
// tell "not a model" from "a model cut short" with errors.Is.
var (
	ErrNotGGUF   = errors.New("not a GGUF file")
	ErrTruncated = errors.New("file is truncated")
	ErrInvalid   = errors.New("invalid GGUF file")
)

// ValueType is the type tag of a metadata value.
type ValueType uint32

// The metadata value types, numbered as in the GGUF specification.
const (
	TypeUint8 ValueType = iota
	TypeInt8
	TypeUint16
	TypeInt16
	TypeUint32
	TypeInt32
	TypeFloat32
	TypeBool
	TypeString
	TypeArray
	TypeUint64
	TypeInt64
	TypeFloat64
)

var valueTypeNames = [...]string{"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"}

func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// size is the encoded size of a fixed-size value, 0 for strings and arrays.
func (t ValueType) size() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// TensorType is a ggml tensor element type.
type TensorType uint32

// The ggml tensor types, numbered as in ggml.h. Gaps are types ggml removed.
const (
	F32     TensorType = 0
	F16     TensorType = 1
	Q4_0    TensorType = 2
	Q4_1    TensorType = 3
	Q5_0    TensorType = 6
	Q5_1    TensorType = 7
	Q8_0    TensorType = 8
	Q8_1    TensorType = 9
	Q2_K    TensorType = 10
	Q3_K    TensorType = 11
	Q4_K    TensorType = 12
	Q5_K    TensorType = 13
	Q6_K    TensorType = 14
	Q8_K    TensorType = 15
	IQ2_XXS TensorType = 16
	IQ2_XS  TensorType = 17
	IQ3_XXS TensorType = 18
	IQ1_S   TensorType = 19
	IQ4_NL  TensorType = 20
	IQ3_S   TensorType = 21
	IQ2_S   TensorType = 22
	IQ4_XS  TensorType = 23
	I8      TensorType = 24
	I16     TensorType = 25
	I32     TensorType = 26
	I64     TensorType = 27
	F64     TensorType = 28
	IQ1_M   TensorType = 29
	BF16    TensorType = 30
	TQ1_0   TensorType = 34
	TQ2_0   TensorType = 35
	MXFP4   TensorType = 39
)

// typeTraits is how many elements one block of a type holds and how many
// bytes it takes; a tensor's rows are whole blocks.
type typeTraits struct {
	name      string
	blockSize uint64
	typeSize  uint64
}

var tensorTypes = map[TensorType]typeTraits{
	F32: {"F32", 1, 4}, F16: {"F16", 1, 2}, BF16: {"BF16", 1, 2}, F64: {"F64", 1, 8},
	I8: {"I8", 1, 1}, I16: {"I16", 1, 2}, I32: {"I32", 1, 4}, I64: {"I64", 1, 8},
	Q4_0: {"Q4_0", 32, 18}, Q4_1: {"Q4_1", 32, 20}, Q5_0: {"Q5_0", 32, 22}, Q5_1: {"Q5_1", 32, 24},
	Q8_0: {"Q8_0", 32, 34}, Q8_1: {"Q8_1", 32, 36},
	Q2_K: {"Q2_K", 256, 84}, Q3_K: {"Q3_K", 256, 110}, Q4_K: {"Q4_K", 256, 144},
	Q5_K: {"Q5_K", 256, 176}, Q6_K: {"Q6_K", 256, 210}, Q8_K: {"Q8_K", 256, 292},
	IQ2_XXS: {"IQ2_XXS", 256, 66}, IQ2_XS: {"IQ2_XS", 256, 74}, IQ3_XXS: {"IQ3_XXS", 256, 98},
	IQ1_S: {"IQ1_S", 256, 50}, IQ4_NL: {"IQ4_NL", 32, 18}, IQ3_S: {"IQ3_S", 256, 110},
	IQ2_S: {"IQ2_S", 256, 82}, IQ4_XS: {"IQ4_XS", 256, 136}, IQ1_M: {"IQ1_M", 256, 56},
	TQ1_0: {"TQ1_0", 256, 54}, TQ2_0: {"TQ2_0", 256, 66}, MXFP4: {"MXFP4", 32, 17},
}

// TensorTypes lists every type this package knows the layout of.
func TensorTypes() []TensorType {
	out := make([]TensorType, 0, len(tensorTypes))
	for t := range tensorTypes {
		out = append(out, t)
	}
	return out
}

// Known reports whether the package knows t's block layout.
func (t TensorType) Known() bool {
	_, ok := tensorTypes[t]
	return ok
}

func (t TensorType) String() string {
	if tr, ok := tensorTypes[t]; ok {
		return tr.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize is the number of elements in one block (1 for plain types).
func (t TensorType) BlockSize() uint64 { return tensorTypes[t].blockSize }

// TypeSize is the number of bytes one block takes.
func (t TensorType) TypeSize() uint64 { return tensorTypes[t].typeSize }

// ParseTensorType maps a name such as "Q8_0" to its type.
func ParseTensorType(name string) (TensorType, error) {
	for t, tr := range tensorTypes {
		if tr.name == name {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown tensor type %q", name)
}

// DataSize is the number of bytes a tensor of this type and shape takes,
// or an error when the shape does not fit the type's blocks.
func (t TensorType) DataSize(dims []uint64) (uint64, error) {
	tr, ok := tensorTypes[t]
	if !ok {
		return 0, fmt.Errorf("unknown tensor type %d", uint32(t))
	}
	if len(dims) == 0 || len(dims) > MaxDims {
		return 0, fmt.Errorf("tensor has %d dimensions, want 1 to %d", len(dims), MaxDims)
	}
	if dims[0]%tr.blockSize != 0 {
		return 0, fmt.Errorf("row length %d is not a multiple of %s's block size %d", dims[0], tr.name, tr.blockSize)
	}
	// Rows are whole blocks, so the size is (elements / block) * type size;
	// every step is checked so a hostile header cannot overflow it.
	const limit = uint64(1) << 60
	n := dims[0] / tr.blockSize * tr.typeSize
	for _, d := range dims[1:] {
		if d == 0 {
			return 0, nil
		}
		if n > limit/d {
			return 0, fmt.Errorf("tensor shape %v is too large", dims)
		}
		n *= d
	}
	return n, nil
}
