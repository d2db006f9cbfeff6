package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// KV is one metadata entry. Value holds one of: uint8, int8, uint16, int16,
// uint32, int32, float32, bool, string, uint64, int64, float64, or a slice
// of one of those ([]string, []float32, ...). Files read from disk may also
// hold []any for arrays of arrays.
type KV struct {
	Key   string
	Value any
}

// Tensor is one tensor to write. Dims are in ggml order: Dims[0] is the
// length of a row (the fastest-moving index). Exactly one of Data and Lazy
// is set; Lazy lets a writer produce large tensors one at a time instead of
// holding a whole model in memory.
type Tensor struct {
	Name string
	Type TensorType
	Dims []uint64
	Data []byte
	Lazy func() ([]byte, error)
}

// File is a GGUF file to write.
type File struct {
	KV      []KV
	Tensors []Tensor
	// Alignment of the data section and of each tensor in it; 0 means
	// DefaultAlignment. A value other than the default is also written as
	// general.alignment, as readers expect.
	Alignment uint32
}

// WriteFile writes f to path through a temporary file in the same
// directory, so a crash never leaves a half-written model behind.
func WriteFile(path string, f *File) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	// CreateTemp makes the file private; a model is an ordinary file.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if _, err := f.WriteTo(bw); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	// Checkpoints are written with this too: the rename must not reach the
	// disk before the data does.
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// WriteTo writes f in GGUF v3 form.
func (f *File) WriteTo(w io.Writer) (int64, error) {
	align := uint64(f.Alignment)
	if align == 0 {
		align = DefaultAlignment
	}
	kvs := f.KV
	if align != DefaultAlignment && !hasKey(kvs, "general.alignment") {
		kvs = append(append([]KV(nil), kvs...), KV{"general.alignment", uint32(align)})
	}
	seen := map[string]bool{}
	for _, kv := range kvs {
		if seen[kv.Key] {
			return 0, fmt.Errorf("metadata key %q appears twice", kv.Key)
		}
		seen[kv.Key] = true
	}

	// Offsets are fixed by the sizes alone, so the header can be written
	// before any tensor's data exists.
	offsets := make([]uint64, len(f.Tensors))
	sizes := make([]uint64, len(f.Tensors))
	var off uint64
	names := map[string]bool{}
	for i, t := range f.Tensors {
		if names[t.Name] {
			return 0, fmt.Errorf("tensor %q appears twice", t.Name)
		}
		names[t.Name] = true
		n, err := t.Type.DataSize(t.Dims)
		if err != nil {
			return 0, fmt.Errorf("tensor %s: %w", t.Name, err)
		}
		if (t.Data == nil) == (t.Lazy == nil) {
			return 0, fmt.Errorf("tensor %s: set exactly one of Data and Lazy", t.Name)
		}
		offsets[i], sizes[i] = off, n
		off = alignUp(off+n, align)
	}

	cw := &countWriter{w: w}
	e := encoder{w: cw}
	e.raw([]byte(Magic))
	e.u32(Version)
	e.u64(uint64(len(f.Tensors)))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		e.str(kv.Key)
		if err := e.value(kv.Value); err != nil {
			return cw.n, fmt.Errorf("metadata %s: %w", kv.Key, err)
		}
	}
	for i, t := range f.Tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Dims)))
		for _, d := range t.Dims {
			e.u64(d)
		}
		e.u32(uint32(t.Type))
		e.u64(offsets[i])
	}
	e.pad(align)
	for i, t := range f.Tensors {
		data := t.Data
		if t.Lazy != nil {
			var err error
			if data, err = t.Lazy(); err != nil {
				return cw.n, fmt.Errorf("tensor %s: %w", t.Name, err)
			}
		}
		if uint64(len(data)) != sizes[i] {
			return cw.n, fmt.Errorf("tensor %s: %d bytes of data, want %d for %s %v", t.Name, len(data), sizes[i], t.Type, t.Dims)
		}
		e.raw(data)
		e.pad(align)
	}
	return cw.n, e.err
}

func hasKey(kvs []KV, key string) bool {
	for _, kv := range kvs {
		if kv.Key == key {
			return true
		}
	}
	return false
}

func alignUp(n, align uint64) uint64 { return (n + align - 1) / align * align }

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// encoder writes little-endian GGUF primitives and keeps the first error,
// so the layout code above reads as a plain sequence of fields.
type encoder struct {
	w   *countWriter
	err error
	buf [8]byte
}

func (e *encoder) raw(p []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(p)
	}
}

func (e *encoder) u8(v uint8) { e.raw([]byte{v}) }
func (e *encoder) u16(v uint16) {
	binary.LittleEndian.PutUint16(e.buf[:2], v)
	e.raw(e.buf[:2])
}
func (e *encoder) u32(v uint32) {
	binary.LittleEndian.PutUint32(e.buf[:4], v)
	e.raw(e.buf[:4])
}
func (e *encoder) u64(v uint64) {
	binary.LittleEndian.PutUint64(e.buf[:8], v)
	e.raw(e.buf[:8])
}
func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	e.raw([]byte(s))
}

func (e *encoder) pad(align uint64) {
	n := uint64(e.w.n)
	if rem := alignUp(n, align) - n; rem > 0 {
		e.raw(make([]byte, rem))
	}
}

func (e *encoder) value(v any) error {
	switch x := v.(type) {
	case uint8:
		e.u32(uint32(TypeUint8))
		e.u8(x)
	case int8:
		e.u32(uint32(TypeInt8))
		e.u8(uint8(x))
	case uint16:
		e.u32(uint32(TypeUint16))
		e.u16(x)
	case int16:
		e.u32(uint32(TypeInt16))
		e.u16(uint16(x))
	case uint32:
		e.u32(uint32(TypeUint32))
		e.u32(x)
	case int32:
		e.u32(uint32(TypeInt32))
		e.u32(uint32(x))
	case float32:
		e.u32(uint32(TypeFloat32))
		e.u32(math.Float32bits(x))
	case bool:
		e.u32(uint32(TypeBool))
		e.u8(boolByte(x))
	case string:
		e.u32(uint32(TypeString))
		e.str(x)
	case uint64:
		e.u32(uint32(TypeUint64))
		e.u64(x)
	case int64:
		e.u32(uint32(TypeInt64))
		e.u64(uint64(x))
	case float64:
		e.u32(uint32(TypeFloat64))
		e.u64(math.Float64bits(x))
	default:
		return e.array(v)
	}
	return nil
}

func (e *encoder) arrayHead(t ValueType, n int) {
	e.u32(uint32(TypeArray))
	e.u32(uint32(t))
	e.u64(uint64(n))
}

func (e *encoder) array(v any) error {
	switch x := v.(type) {
	case []uint8:
		e.arrayHead(TypeUint8, len(x))
		e.raw(x)
	case []int8:
		e.arrayHead(TypeInt8, len(x))
		for _, y := range x {
			e.u8(uint8(y))
		}
	case []uint16:
		e.arrayHead(TypeUint16, len(x))
		for _, y := range x {
			e.u16(y)
		}
	case []int16:
		e.arrayHead(TypeInt16, len(x))
		for _, y := range x {
			e.u16(uint16(y))
		}
	case []uint32:
		e.arrayHead(TypeUint32, len(x))
		for _, y := range x {
			e.u32(y)
		}
	case []int32:
		e.arrayHead(TypeInt32, len(x))
		for _, y := range x {
			e.u32(uint32(y))
		}
	case []float32:
		e.arrayHead(TypeFloat32, len(x))
		for _, y := range x {
			e.u32(math.Float32bits(y))
		}
	case []bool:
		e.arrayHead(TypeBool, len(x))
		for _, y := range x {
			e.u8(boolByte(y))
		}
	case []string:
		e.arrayHead(TypeString, len(x))
		for _, y := range x {
			e.str(y)
		}
	case []uint64:
		e.arrayHead(TypeUint64, len(x))
		for _, y := range x {
			e.u64(y)
		}
	case []int64:
		e.arrayHead(TypeInt64, len(x))
		for _, y := range x {
			e.u64(uint64(y))
		}
	case []float64:
		e.arrayHead(TypeFloat64, len(x))
		for _, y := range x {
			e.u64(math.Float64bits(y))
		}
	default:
		return fmt.Errorf("unsupported value type %T", v)
	}
	return nil
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}
