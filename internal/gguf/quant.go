package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Float16 converts f to IEEE half precision, rounding to nearest even, as
// ggml's own conversion does.
func Float16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	mant := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if mant != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp-127 > 15: // too large: infinity
		return sign | 0x7c00
	case exp-127 >= -14: // normal half
		h := uint32(exp-127+15)<<10 | mant>>13
		return sign | uint16(roundEven(h, mant, 13))
	case exp-127 >= -25: // subnormal half
		mant |= 0x800000
		shift := uint32(-(exp - 127) - 14 + 13)
		return sign | uint16(roundEven(mant>>shift, mant, shift))
	}
	return sign // underflows to zero
}

// roundEven rounds h, the result of dropping the low `shift` bits of m, to
// nearest with ties to even. A carry out of the mantissa correctly bumps
// the exponent because the fields are adjacent.
func roundEven(h, m, shift uint32) uint32 {
	rem := m & (1<<shift - 1)
	half := uint32(1) << (shift - 1)
	if rem > half || (rem == half && h&1 == 1) {
		h++
	}
	return h
}

// Float16To32 converts a half-precision value to float32 exactly.
func Float16To32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal: value is mant * 2^-24.
		f := float32(mant) * float32(1.0/(1<<24))
		if sign != 0 {
			f = -f
		}
		return f
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

// Encode turns float32 values into the bytes of a tensor of type t. It
// supports F32, F16 and Q8_0, the types the generator writes.
func Encode(t TensorType, values []float32) ([]byte, error) {
	switch t {
	case F32:
		out := make([]byte, 4*len(values))
		for i, v := range values {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
		return out, nil
	case F16:
		out := make([]byte, 2*len(values))
		for i, v := range values {
			binary.LittleEndian.PutUint16(out[2*i:], Float16(v))
		}
		return out, nil
	case Q8_0:
		return encodeQ8_0(values)
	}
	return nil, fmt.Errorf("encoding %s is not supported (F32, F16 and Q8_0 are)", t)
}

// Decode turns tensor bytes of type t back into float32 values.
func Decode(t TensorType, data []byte) ([]float32, error) {
	switch t {
	case F32:
		if len(data)%4 != 0 {
			return nil, fmt.Errorf("F32 data of %d bytes is not whole values", len(data))
		}
		out := make([]float32, len(data)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		return out, nil
	case F16:
		if len(data)%2 != 0 {
			return nil, fmt.Errorf("F16 data of %d bytes is not whole values", len(data))
		}
		out := make([]float32, len(data)/2)
		for i := range out {
			out[i] = Float16To32(binary.LittleEndian.Uint16(data[2*i:]))
		}
		return out, nil
	case Q8_0:
		return decodeQ8_0(data)
	}
	return nil, fmt.Errorf("decoding %s is not supported (F32, F16 and Q8_0 are)", t)
}

const q8Block = 32

// encodeQ8_0 writes blocks of 32 values as one half-precision scale and 32
// signed bytes, the scale chosen so the largest magnitude maps to 127.
func encodeQ8_0(values []float32) ([]byte, error) {
	if len(values)%q8Block != 0 {
		return nil, fmt.Errorf("Q8_0 needs a multiple of %d values, got %d", q8Block, len(values))
	}
	out := make([]byte, 0, len(values)/q8Block*34)
	for b := 0; b < len(values); b += q8Block {
		blk := values[b : b+q8Block]
		var amax float32
		for _, v := range blk {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		var inv float32
		if d != 0 {
			inv = 1 / d
		}
		out = binary.LittleEndian.AppendUint16(out, Float16(d))
		for _, v := range blk {
			out = append(out, byte(int8(math.Round(float64(v*inv)))))
		}
	}
	return out, nil
}

func decodeQ8_0(data []byte) ([]float32, error) {
	if len(data)%34 != 0 {
		return nil, fmt.Errorf("Q8_0 data of %d bytes is not whole blocks", len(data))
	}
	out := make([]float32, 0, len(data)/34*q8Block)
	for b := 0; b < len(data); b += 34 {
		d := Float16To32(binary.LittleEndian.Uint16(data[b:]))
		for _, q := range data[b+2 : b+34] {
			out = append(out, d*float32(int8(q)))
		}
	}
	return out, nil
}
