package gguf

import (
	"bytes"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	kvs := []KV{
		{"u8", uint8(7)}, {"i8", int8(-7)}, {"u16", uint16(700)}, {"i16", int16(-700)},
		{"u32", uint32(70000)}, {"i32", int32(-70000)}, {"f32", float32(1.5)}, {"bool", true},
		{"str", "héllo"}, {"u64", uint64(1 << 40)}, {"i64", int64(-1 << 40)}, {"f64", 2.25},
		{"a.u8", []uint8{1, 2}}, {"a.i8", []int8{-1, 2}}, {"a.u16", []uint16{3}}, {"a.i16", []int16{-3}},
		{"a.u32", []uint32{4, 5}}, {"a.i32", []int32{-4}}, {"a.f32", []float32{0.5, -0.25}},
		{"a.bool", []bool{true, false}}, {"a.str", []string{"x", "", "yz"}}, {"a.u64", []uint64{9}},
		{"a.i64", []int64{-9}}, {"a.f64", []float64{1e100}}, {"a.empty", []string{}},
	}
	f32 := mustEncode(F32, []float32{1, 2, 3, 4, 5, 6})
	q8, err := Encode(Q8_0, randomNormal(64, 1, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	for _, align := range []uint32{0, 64} {
		t.Run(map[uint32]string{0: "default alignment", 64: "alignment 64"}[align], func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "m.gguf")
			in := &File{KV: kvs, Alignment: align, Tensors: []Tensor{
				{Name: "a", Type: F32, Dims: []uint64{3, 2}, Data: f32},
				{Name: "b", Type: Q8_0, Dims: []uint64{64}, Lazy: func() ([]byte, error) { return q8, nil }},
			}}
			if err := WriteFile(path, in); err != nil {
				t.Fatal(err)
			}
			h, err := ReadHeader(path)
			if err != nil {
				t.Fatal(err)
			}
			wantAlign := uint64(DefaultAlignment)
			if align != 0 {
				wantAlign = uint64(align)
			}
			if h.Alignment != wantAlign || h.DataOffset%wantAlign != 0 {
				t.Errorf("alignment %d, data offset %d; want alignment %d", h.Alignment, h.DataOffset, wantAlign)
			}
			for _, kv := range kvs {
				got, ok := h.Get(kv.Key)
				if !ok || !reflect.DeepEqual(got, kv.Value) {
					t.Errorf("%s = %#v, want %#v", kv.Key, got, kv.Value)
				}
			}
			for name, want := range map[string][]byte{"a": f32, "b": q8} {
				got, err := h.ReadTensor(name)
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("tensor %s: %v, data equal %v", name, err, bytes.Equal(got, want))
				}
				if ti, _ := h.Tensor(name); ti.Offset%wantAlign != 0 {
					t.Errorf("tensor %s at %d, not aligned to %d", name, ti.Offset, wantAlign)
				}
			}
		})
	}
}

func TestWriteRejects(t *testing.T) {
	one := mustEncode(F32, []float32{1})
	cases := []struct {
		name string
		file File
		want string
	}{
		{"duplicate key", File{KV: []KV{{"k", uint32(1)}, {"k", uint32(2)}}}, `key "k" appears twice`},
		{"duplicate tensor", File{Tensors: []Tensor{{Name: "t", Type: F32, Dims: []uint64{1}, Data: one}, {Name: "t", Type: F32, Dims: []uint64{1}, Data: one}}}, `tensor "t" appears twice`},
		{"wrong data size", File{Tensors: []Tensor{{Name: "t", Type: F32, Dims: []uint64{2}, Data: one}}}, "4 bytes of data, want 8"},
		{"row not whole blocks", File{Tensors: []Tensor{{Name: "t", Type: Q8_0, Dims: []uint64{16}, Data: one}}}, "not a multiple of Q8_0's block size 32"},
		{"no data", File{Tensors: []Tensor{{Name: "t", Type: F32, Dims: []uint64{1}}}}, "exactly one of Data and Lazy"},
		{"bad value", File{KV: []KV{{"k", struct{}{}}}}, "unsupported value type"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.file.WriteTo(&bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestReadRejectsDamage cuts and corrupts a valid file and checks that
// every damaged version is refused with the right kind of error instead of
// reaching llama.cpp.
func TestReadRejectsDamage(t *testing.T) {
	var buf bytes.Buffer
	good := &File{KV: []KV{{"general.architecture", "llama"}, {"tokens", []string{"a", "b"}}},
		Tensors: []Tensor{{Name: "w", Type: F32, Dims: []uint64{8, 4}, Data: make([]byte, 128)}}}
	if _, err := good.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	h, err := Parse(bytes.NewReader(full), int64(len(full)))
	if err != nil {
		t.Fatal(err)
	}
	patch := func(off int, b ...byte) []byte {
		c := bytes.Clone(full)
		copy(c[off:], b)
		return c
	}
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotGGUF},
		{"text file", []byte("hello, this is not a model at all"), ErrNotGGUF},
		{"zip file", []byte("PK\x03\x04rest-of-zip"), ErrNotGGUF},
		{"magic only", full[:4], ErrTruncated},
		{"cut in metadata", full[:40], ErrTruncated},
		{"cut in tensor directory", full[:h.DataOffset-10], ErrTruncated},
		{"cut in tensor data", full[:len(full)-1], ErrTruncated},
		{"version 1", patch(4, 1, 0, 0, 0), ErrInvalid},
		{"huge metadata count", patch(16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0), ErrTruncated},
		{"huge string length", patch(24, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0), ErrTruncated},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(bytes.NewReader(tc.data), int64(len(tc.data)))
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
		})
	}
}

func TestReadHeaderFileErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, path, want string
	}{
		{"missing file", filepath.Join(dir, "nope.gguf"), "no such file"},
		{"directory", dir, "is a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadHeader(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("error %v, want one naming %s and saying %q", err, tc.path, tc.want)
			}
		})
	}
}

func TestFloat16(t *testing.T) {
	cases := []struct {
		name string
		in   float32
		want uint16
	}{
		{"zero", 0, 0x0000},
		{"negative zero", float32(math.Copysign(0, -1)), 0x8000},
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"largest half", 65504, 0x7bff},
		{"overflow", 1e6, 0x7c00},
		{"smallest normal", float32(math.Ldexp(1, -14)), 0x0400},
		{"smallest subnormal", float32(math.Ldexp(1, -24)), 0x0001},
		{"underflow", 1e-10, 0x0000},
		{"third rounds to nearest", 1.0 / 3, 0x3555},
		{"tie rounds to even", 1 + float32(math.Ldexp(1, -11)), 0x3c00},
		{"infinity", float32(math.Inf(1)), 0x7c00},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Float16(tc.in); got != tc.want {
				t.Fatalf("Float16(%g) = %#04x, want %#04x", tc.in, got, tc.want)
			}
		})
	}
	t.Run("every half survives a round trip", func(t *testing.T) {
		for h := 0; h < 0x7c00; h++ {
			if got := Float16(Float16To32(uint16(h))); got != uint16(h) {
				t.Fatalf("%#04x -> %g -> %#04x", h, Float16To32(uint16(h)), got)
			}
		}
	})
}

func TestQ8_0(t *testing.T) {
	vals := randomNormal(256, 3, 3, 1)
	enc, err := Encode(Q8_0, vals)
	if err != nil {
		t.Fatal(err)
	}
	if len(enc) != 256/32*34 {
		t.Fatalf("%d bytes, want %d", len(enc), 256/32*34)
	}
	dec, err := Decode(Q8_0, enc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range vals {
		// Each value is off by at most half a step of its block's scale.
		blockMax := float32(0)
		for _, v := range vals[i/32*32 : i/32*32+32] {
			blockMax = max(blockMax, float32(math.Abs(float64(v))))
		}
		if d := math.Abs(float64(dec[i] - vals[i])); d > float64(blockMax)/127*0.51+1e-3 {
			t.Fatalf("value %d: %g decoded as %g", i, vals[i], dec[i])
		}
	}
	if _, err := Encode(Q8_0, make([]float32, 31)); err == nil {
		t.Fatal("31 values encoded as Q8_0 without error")
	}
}

func TestTensorTypeDataSize(t *testing.T) {
	cases := []struct {
		name string
		typ  TensorType
		dims []uint64
		want uint64
	}{
		{"f32 matrix", F32, []uint64{64, 3}, 768},
		{"f16 vector", F16, []uint64{10}, 20},
		{"q8_0 rows", Q8_0, []uint64{64, 2}, 136},
		{"q4_k", Q4_K, []uint64{256, 4}, 576},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.typ.DataSize(tc.dims)
			if err != nil || got != tc.want {
				t.Fatalf("DataSize = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
	if _, err := F32.DataSize([]uint64{1 << 40, 1 << 40}); err == nil {
		t.Error("an overflowing shape was accepted")
	}
	if tt, err := ParseTensorType("Q8_0"); err != nil || tt != Q8_0 {
		t.Errorf("ParseTensorType(Q8_0) = %v, %v", tt, err)
	}
}
