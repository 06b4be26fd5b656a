package tflite

import (
	"encoding/binary"
	"math"
)

// A minimal flatbuffer writer for tests: it builds small or deliberately
// hostile TFLite files. Objects are laid out front to back (every offset
// points forward); each table's vtable sits just before it.

// fbt is a table: field index → value (uint8, int32, uint32, string,
// []int32, []byte, fbt, []fbt). Missing indices are absent fields.
type fbt map[int]any

type fbWriter struct{ b []byte }

func (w *fbWriter) u32(v uint32) int {
	p := len(w.b)
	w.b = binary.LittleEndian.AppendUint32(w.b, v)
	return p
}

func (w *fbWriter) patch(at, target int) {
	binary.LittleEndian.PutUint32(w.b[at:], uint32(target-at))
}

// table writes t and its children and returns the table's position.
func (w *fbWriter) table(t fbt) int {
	n := 0
	for k := range t {
		n = max(n, k+1)
	}
	vt := len(w.b)
	w.b = binary.LittleEndian.AppendUint16(w.b, uint16(4+2*n))
	w.b = binary.LittleEndian.AppendUint16(w.b, uint16(4+4*n))
	for k := range n {
		off := 0
		if _, ok := t[k]; ok {
			off = 4 + 4*k
		}
		w.b = binary.LittleEndian.AppendUint16(w.b, uint16(off))
	}
	pos := w.u32(0)
	binary.LittleEndian.PutUint32(w.b[pos:], uint32(int32(pos-vt)))
	slots := make([]int, n)
	for k := range n {
		slots[k] = w.u32(0)
		switch v := t[k].(type) {
		case uint8:
			w.b[slots[k]] = v
		case int32:
			binary.LittleEndian.PutUint32(w.b[slots[k]:], uint32(v))
		case uint32:
			binary.LittleEndian.PutUint32(w.b[slots[k]:], v)
		}
	}
	for k := range n {
		switch v := t[k].(type) {
		case string:
			w.patch(slots[k], w.u32(uint32(len(v))))
			w.b = append(append(w.b, v...), 0)
		case []byte:
			w.patch(slots[k], w.u32(uint32(len(v))))
			w.b = append(w.b, v...)
		case []int32:
			w.patch(slots[k], w.u32(uint32(len(v))))
			for _, x := range v {
				w.u32(uint32(x))
			}
		case fbt:
			w.patch(slots[k], w.table(v))
		case []fbt:
			w.patch(slots[k], w.u32(uint32(len(v))))
			at := make([]int, len(v))
			for i := range v {
				at[i] = w.u32(0)
			}
			for i, c := range v {
				w.patch(at[i], w.table(c))
			}
		}
	}
	return pos
}

// buildModel returns a TFLite file with root table model.
func buildModel(model fbt) []byte {
	w := &fbWriter{}
	root := w.u32(0)
	w.b = append(w.b, "TFL3"...)
	w.patch(root, w.table(model))
	return w.b
}

func f32bytes(v ...float32) []byte {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b
}

// tinyConvModel is input [1,2,2,2] → CONV_2D 1×1 (3 filters, bias, RELU)
// → output [1,2,2,3].
func tinyConvModel() []byte {
	w := f32bytes(1, 0, 0, 1, 1, -1)
	bias := f32bytes(0.5, -0.5, 0)
	return buildModel(fbt{
		0: uint32(3),
		1: []fbt{{0: uint8(3), 2: int32(1), 3: int32(3)}},
		2: []fbt{{
			0: []fbt{
				{0: []int32{1, 2, 2, 2}, 1: uint8(0), 2: uint32(0), 3: "input"},
				{0: []int32{3, 1, 1, 2}, 1: uint8(0), 2: uint32(1), 3: "w"},
				{0: []int32{3}, 1: uint8(0), 2: uint32(2), 3: "b"},
				{0: []int32{1, 2, 2, 3}, 1: uint8(0), 2: uint32(0), 3: "output"},
			},
			1: []int32{0},
			2: []int32{3},
			3: []fbt{{0: uint32(0), 1: []int32{0, 1, 2}, 2: []int32{3}, 3: uint8(optConv2D),
				4: fbt{0: uint8(1), 1: int32(1), 2: int32(1), 3: uint8(1)}}},
		}},
		4: []fbt{{}, {0: w}, {0: bias}},
	})
}
