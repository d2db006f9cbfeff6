package export

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/tunelab/tunelab/internal/gguf"
)

// stTensor is one entry of a safetensors header.
type stTensor struct {
	DType   string   `json:"dtype"`
	Shape   []int64  `json:"shape"`
	Offsets [2]int64 `json:"data_offsets"`
}

// safetensors is an open file in Hugging Face's safetensors format: an
// 8-byte little-endian header length, a JSON header naming each tensor's
// dtype, shape and byte range, then the raw little-endian data.
type safetensors struct {
	path    string
	f       *os.File
	base    int64 // where the data section starts
	size    int64 // of the data section
	tensors map[string]stTensor
}

// maxHeader bounds the JSON header so a corrupt length cannot make the
// reader allocate gigabytes.
const maxHeader = 100 << 20

func openSafetensors(path string) (*safetensors, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := parseSafetensors(path, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return st, nil
}

func parseSafetensors(path string, f *os.File) (*safetensors, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var n uint64
	if err := binary.Read(f, binary.LittleEndian, &n); err != nil {
		return nil, fmt.Errorf("%s: not a safetensors file: no header length (%v)", path, err)
	}
	if n == 0 || n > maxHeader || int64(n) > info.Size()-8 {
		return nil, fmt.Errorf("%s: not a safetensors file: header length %d does not fit a %d-byte file", path, n, info.Size())
	}
	head := make([]byte, n)
	if _, err := io.ReadFull(f, head); err != nil {
		return nil, fmt.Errorf("%s: read header: %w", path, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(head, &raw); err != nil {
		return nil, fmt.Errorf("%s: header is not a JSON object: %v", path, err)
	}
	st := &safetensors{path: path, f: f, base: 8 + int64(n), size: info.Size() - 8 - int64(n), tensors: map[string]stTensor{}}
	for name, v := range raw {
		if name == "__metadata__" {
			continue
		}
		var t stTensor
		if err := json.Unmarshal(v, &t); err != nil {
			return nil, fmt.Errorf("%s: tensor %s: bad header entry: %v", path, name, err)
		}
		width, ok := dtypeWidth[t.DType]
		if !ok {
			return nil, fmt.Errorf("%s: tensor %s has dtype %s: want F32, F16 or BF16 (save the adapter unquantised)", path, name, t.DType)
		}
		elems := int64(1)
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("%s: tensor %s has negative shape %v", path, name, t.Shape)
			}
			elems *= d
		}
		if t.Offsets[0] < 0 || t.Offsets[1] < t.Offsets[0] || t.Offsets[1] > st.size || t.Offsets[1]-t.Offsets[0] != elems*width {
			return nil, fmt.Errorf("%s: tensor %s: bytes %d..%d do not hold %d %s values in a %d-byte data section", path, name, t.Offsets[0], t.Offsets[1], elems, t.DType, st.size)
		}
		st.tensors[name] = t
	}
	return st, nil
}

var dtypeWidth = map[string]int64{"F32": 4, "F16": 2, "BF16": 2}

func (st *safetensors) Close() error { return st.f.Close() }

// names lists the tensors in a stable order, so errors and output do not
// depend on map order.
func (st *safetensors) names() []string {
	out := make([]string, 0, len(st.tensors))
	for n := range st.tensors {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// read returns a tensor's values as float32, in the file's row-major order.
func (st *safetensors) read(name string) ([]float32, error) {
	t := st.tensors[name]
	buf := make([]byte, t.Offsets[1]-t.Offsets[0])
	if _, err := st.f.ReadAt(buf, st.base+t.Offsets[0]); err != nil {
		return nil, fmt.Errorf("%s: tensor %s: read data: %w", st.path, name, err)
	}
	width := dtypeWidth[t.DType]
	out := make([]float32, int64(len(buf))/width)
	for i := range out {
		switch t.DType {
		case "F32":
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*i:]))
		case "F16":
			out[i] = gguf.Float16To32(binary.LittleEndian.Uint16(buf[2*i:]))
		case "BF16":
			// bfloat16 is the top half of a float32.
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(buf[2*i:])) << 16)
		}
	}
	return out, nil
}
