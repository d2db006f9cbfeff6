package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
)

// TensorInfo describes one tensor in a file read from disk.
type TensorInfo struct {
	Name string
	Type TensorType
	Dims []uint64
	// Offset is the absolute position of the tensor's data in the file.
	Offset uint64
	Size   uint64
}

// Elements is the number of values in the tensor.
func (t TensorInfo) Elements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Header is the metadata and tensor directory of a GGUF file. Reading it
// checks that every length, count and tensor extent fits inside the file,
// which is what keeps malformed files away from llama.cpp.
type Header struct {
	Path       string
	Version    uint32
	KV         []KV
	Tensors    []TensorInfo
	Alignment  uint64
	DataOffset uint64
	FileSize   int64
}

// ReadHeader reads and checks the header of the GGUF file at path.
func ReadHeader(path string) (*Header, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open model %s: %w", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open model %s: %w", path, err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("open model %s: is a directory, want a .gguf file", path)
	}
	h, err := Parse(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	h.Path = path
	return h, nil
}

// Parse reads a header from r, a file of the given size.
func Parse(r io.ReaderAt, size int64) (*Header, error) {
	d := &decoder{r: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 1<<16), size: uint64(size)}
	magic := d.bytes(4, "magic")
	if d.err != nil || string(magic) != Magic {
		if d.err != nil && !errors.Is(d.err, ErrTruncated) {
			return nil, d.err
		}
		return nil, fmt.Errorf("%w: it starts with %q, a GGUF file starts with %q", ErrNotGGUF, magic, Magic)
	}
	h := &Header{FileSize: size, Alignment: DefaultAlignment}
	h.Version = d.u32("version")
	if d.err == nil && (h.Version < 2 || h.Version > Version) {
		return nil, fmt.Errorf("%w: GGUF version %d, this reader handles 2 and 3", ErrInvalid, h.Version)
	}
	nTensors := d.u64("tensor count")
	nKV := d.u64("metadata count")
	if d.err != nil {
		return nil, d.err
	}
	// Every entry takes at least a few bytes, so counts beyond the file's
	// size are lies; refusing them here avoids huge allocations.
	if nKV > d.remaining()/12 || nTensors > d.remaining()/24 {
		return nil, fmt.Errorf("%w: header claims %d metadata entries and %d tensors, more than a %d-byte file can hold", ErrTruncated, nKV, nTensors, size)
	}
	seen := make(map[string]bool, nKV)
	for i := uint64(0); i < nKV; i++ {
		key := d.str("metadata key")
		what := "metadata " + key
		t := ValueType(d.u32(what + " type"))
		v := d.value(t, what, 0)
		if d.err != nil {
			return nil, d.err
		}
		if seen[key] {
			return nil, fmt.Errorf("%w: metadata key %q appears twice", ErrInvalid, key)
		}
		seen[key] = true
		h.KV = append(h.KV, KV{Key: key, Value: v})
	}
	if a, ok := h.Uint("general.alignment"); ok {
		if a == 0 || a&(a-1) != 0 || a > 1<<20 {
			return nil, fmt.Errorf("%w: general.alignment is %d, want a power of two", ErrInvalid, a)
		}
		h.Alignment = a
	}
	names := make(map[string]bool, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		name := d.str("tensor name")
		what := "tensor " + name
		nd := d.u32(what + " rank")
		if d.err == nil && (nd == 0 || nd > MaxDims) {
			return nil, fmt.Errorf("%w: tensor %s has %d dimensions, want 1 to %d", ErrInvalid, name, nd, MaxDims)
		}
		dims := make([]uint64, nd)
		for j := range dims {
			dims[j] = d.u64(what + " shape")
		}
		typ := TensorType(d.u32(what + " type"))
		off := d.u64(what + " offset")
		if d.err != nil {
			return nil, d.err
		}
		if names[name] {
			return nil, fmt.Errorf("%w: tensor %q appears twice", ErrInvalid, name)
		}
		names[name] = true
		if !typ.Known() {
			return nil, fmt.Errorf("%w: tensor %s has unknown type %d", ErrInvalid, name, uint32(typ))
		}
		n, err := typ.DataSize(dims)
		if err != nil {
			return nil, fmt.Errorf("%w: tensor %s: %v", ErrInvalid, name, err)
		}
		if off%h.Alignment != 0 {
			return nil, fmt.Errorf("%w: tensor %s starts at offset %d, not a multiple of the alignment %d", ErrInvalid, name, off, h.Alignment)
		}
		h.Tensors = append(h.Tensors, TensorInfo{Name: name, Type: typ, Dims: dims, Offset: off, Size: n})
	}
	h.DataOffset = alignUp(d.pos, h.Alignment)
	for i := range h.Tensors {
		t := &h.Tensors[i]
		t.Offset += h.DataOffset
		if t.Offset > h.fileSize() || t.Size > h.fileSize()-t.Offset {
			return nil, fmt.Errorf("%w: tensor %s needs bytes %d to %d, the file has %d", ErrTruncated, t.Name, t.Offset, t.Offset+t.Size, size)
		}
	}
	return h, nil
}

func (h *Header) fileSize() uint64 { return uint64(h.FileSize) }

// Get returns a metadata value.
func (h *Header) Get(key string) (any, bool) {
	for _, kv := range h.KV {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return nil, false
}

// String returns a string metadata value.
func (h *Header) String(key string) (string, bool) {
	v, ok := h.Get(key)
	s, isStr := v.(string)
	return s, ok && isStr
}

// Uint returns an integer metadata value of any width that is not negative.
func (h *Header) Uint(key string) (uint64, bool) {
	v, ok := h.Get(key)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8:
		return uint64(x), x >= 0
	case int16:
		return uint64(x), x >= 0
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	}
	return 0, false
}

// Float returns a floating-point metadata value.
func (h *Header) Float(key string) (float64, bool) {
	v, ok := h.Get(key)
	switch x := v.(type) {
	case float32:
		return float64(x), ok
	case float64:
		return x, ok
	}
	return 0, false
}

// Strings returns a string-array metadata value.
func (h *Header) Strings(key string) ([]string, bool) {
	v, ok := h.Get(key)
	s, isStrs := v.([]string)
	return s, ok && isStrs
}

// Architecture is general.architecture, e.g. "llama".
func (h *Header) Architecture() string {
	s, _ := h.String("general.architecture")
	return s
}

// Tensor finds a tensor by name.
func (h *Header) Tensor(name string) (TensorInfo, bool) {
	for _, t := range h.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return TensorInfo{}, false
}

// ReadTensor reads one tensor's raw data from the file.
func (h *Header) ReadTensor(name string) ([]byte, error) {
	t, ok := h.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", h.Path, name)
	}
	f, err := os.Open(h.Path)
	if err != nil {
		return nil, fmt.Errorf("read tensor %s: %w", name, err)
	}
	defer f.Close()
	buf := make([]byte, t.Size)
	if _, err := f.ReadAt(buf, int64(t.Offset)); err != nil {
		return nil, fmt.Errorf("%s: read tensor %s: %w", h.Path, name, err)
	}
	return buf, nil
}

// decoder reads little-endian GGUF primitives, keeps the first error and
// knows how much of the file is left, so no length read from the file can
// make it allocate more than the file holds.
type decoder struct {
	r    *bufio.Reader
	size uint64
	pos  uint64
	err  error
	buf  [8]byte
}

func (d *decoder) remaining() uint64 { return d.size - d.pos }

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: it ends at byte %d, inside %s", ErrTruncated, d.size, what)
	}
}

func (d *decoder) read(p []byte, what string) {
	if d.err != nil {
		return
	}
	if uint64(len(p)) > d.remaining() {
		d.fail(what)
		return
	}
	if _, err := io.ReadFull(d.r, p); err != nil {
		d.err = fmt.Errorf("reading %s: %w", what, err)
		return
	}
	d.pos += uint64(len(p))
}

func (d *decoder) bytes(n uint64, what string) []byte {
	if d.err != nil {
		return nil
	}
	if n > d.remaining() {
		d.fail(what)
		return nil
	}
	p := make([]byte, n)
	d.read(p, what)
	return p
}

func (d *decoder) u8(what string) uint8 {
	d.read(d.buf[:1], what)
	return d.buf[0]
}

func (d *decoder) u16(what string) uint16 {
	d.read(d.buf[:2], what)
	return binary.LittleEndian.Uint16(d.buf[:2])
}

func (d *decoder) u32(what string) uint32 {
	d.read(d.buf[:4], what)
	return binary.LittleEndian.Uint32(d.buf[:4])
}

func (d *decoder) u64(what string) uint64 {
	d.read(d.buf[:8], what)
	return binary.LittleEndian.Uint64(d.buf[:8])
}

func (d *decoder) str(what string) string {
	n := d.u64(what + " length")
	return string(d.bytes(n, what))
}

// maxNesting bounds arrays of arrays; real files nest at most once.
const maxNesting = 4

func (d *decoder) value(t ValueType, what string, depth int) any {
	if d.err != nil {
		return nil
	}
	switch t {
	case TypeUint8:
		return d.u8(what)
	case TypeInt8:
		return int8(d.u8(what))
	case TypeUint16:
		return d.u16(what)
	case TypeInt16:
		return int16(d.u16(what))
	case TypeUint32:
		return d.u32(what)
	case TypeInt32:
		return int32(d.u32(what))
	case TypeFloat32:
		return math.Float32frombits(d.u32(what))
	case TypeBool:
		b := d.u8(what)
		if d.err == nil && b > 1 {
			d.err = fmt.Errorf("%w: %s is a bool with byte value %d", ErrInvalid, what, b)
		}
		return b == 1
	case TypeString:
		return d.str(what)
	case TypeUint64:
		return d.u64(what)
	case TypeInt64:
		return int64(d.u64(what))
	case TypeFloat64:
		return math.Float64frombits(d.u64(what))
	case TypeArray:
		if depth >= maxNesting {
			d.err = fmt.Errorf("%w: %s nests arrays more than %d deep", ErrInvalid, what, maxNesting)
			return nil
		}
		et := ValueType(d.u32(what + " element type"))
		n := d.u64(what + " length")
		return d.array(et, n, what, depth)
	}
	d.err = fmt.Errorf("%w: %s has unknown value type %d", ErrInvalid, what, uint32(t))
	return nil
}

func (d *decoder) array(t ValueType, n uint64, what string, depth int) any {
	if d.err != nil {
		return nil
	}
	// Strings and arrays take at least 8 bytes each (their length field).
	min := uint64(t.size())
	if t == TypeString || t == TypeArray {
		min = 8
	}
	if min == 0 {
		d.err = fmt.Errorf("%w: %s is an array of unknown type %d", ErrInvalid, what, uint32(t))
		return nil
	}
	if n > d.remaining()/min {
		d.fail(what)
		return nil
	}
	switch t {
	case TypeUint8:
		return d.bytes(n, what)
	case TypeString:
		out := make([]string, n)
		for i := range out {
			out[i] = d.str(what)
		}
		return out
	case TypeFloat32:
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(d.u32(what))
		}
		return out
	case TypeInt32:
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(d.u32(what))
		}
		return out
	case TypeUint32:
		out := make([]uint32, n)
		for i := range out {
			out[i] = d.u32(what)
		}
		return out
	case TypeInt8:
		out := make([]int8, n)
		for i := range out {
			out[i] = int8(d.u8(what))
		}
		return out
	case TypeUint16:
		out := make([]uint16, n)
		for i := range out {
			out[i] = d.u16(what)
		}
		return out
	case TypeInt16:
		out := make([]int16, n)
		for i := range out {
			out[i] = int16(d.u16(what))
		}
		return out
	case TypeBool:
		out := make([]bool, n)
		for i := range out {
			out[i] = d.u8(what) == 1
		}
		return out
	case TypeUint64:
		out := make([]uint64, n)
		for i := range out {
			out[i] = d.u64(what)
		}
		return out
	case TypeInt64:
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(d.u64(what))
		}
		return out
	case TypeFloat64:
		out := make([]float64, n)
		for i := range out {
			out[i] = math.Float64frombits(d.u64(what))
		}
		return out
	default: // TypeArray
		out := make([]any, n)
		for i := range out {
			out[i] = d.value(TypeArray, what, depth+1)
		}
		return out
	}
}
