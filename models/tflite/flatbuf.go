package tflite

import (
	"encoding/binary"
	"fmt"
)

// The flatbuffer reader below knows only the wire format (tables with
// vtables, vectors, strings, unions); schema.go gives the TFLite meaning.
// Every access is bounds-checked: a bad offset raises a formatError panic
// that Load recovers into an error, which keeps the parsing code linear.

// formatError is a malformed-file error raised inside the parser.
type formatError struct{ msg string }

func (e formatError) Error() string { return e.msg }

// failf aborts parsing with a formatError.
func failf(format string, args ...any) {
	panic(formatError{fmt.Sprintf(format, args...)})
}

// fbuf is the whole flatbuffer.
type fbuf []byte

func (b fbuf) check(p, n int64) {
	if p < 0 || n < 0 || p+n > int64(len(b)) {
		failf("offset %d+%d outside the file (%d bytes)", p, n, len(b))
	}
}

func (b fbuf) u8(p int64) uint8 {
	b.check(p, 1)
	return b[p]
}

func (b fbuf) u16(p int64) uint16 {
	b.check(p, 2)
	return binary.LittleEndian.Uint16(b[p:])
}

func (b fbuf) u32(p int64) uint32 {
	b.check(p, 4)
	return binary.LittleEndian.Uint32(b[p:])
}

func (b fbuf) u64(p int64) uint64 {
	b.check(p, 8)
	return binary.LittleEndian.Uint64(b[p:])
}

// deref follows the unsigned offset stored at p.
func (b fbuf) deref(p int64) int64 {
	return p + int64(b.u32(p))
}

// fbTable is a table: its position and its vtable.
type fbTable struct {
	b     fbuf
	pos   int64
	vt    int64
	vtLen int64
	size  int64
}

// table reads the table that starts at pos.
func (b fbuf) table(pos int64) fbTable {
	so := int64(int32(b.u32(pos)))
	vt := pos - so
	vtLen := int64(b.u16(vt))
	size := int64(b.u16(vt + 2))
	if vtLen < 4 || vtLen%2 != 0 {
		failf("bad vtable size %d at %d", vtLen, vt)
	}
	b.check(vt, vtLen)
	if size < 4 {
		failf("bad table size %d at %d", size, pos)
	}
	b.check(pos, size)
	return fbTable{b: b, pos: pos, vt: vt, vtLen: vtLen, size: size}
}

// field returns the absolute position of field i, or 0 when absent. The
// field of width w must lie inside the table.
func (t fbTable) field(i int, w int64) int64 {
	o := 4 + 2*int64(i)
	if o+2 > t.vtLen {
		return 0
	}
	off := int64(t.b.u16(t.vt + o))
	if off == 0 {
		return 0
	}
	if off < 4 || off+w > t.size {
		failf("field %d of the table at %d lies outside it", i, t.pos)
	}
	return t.pos + off
}

func (t fbTable) u8(i int, def uint8) uint8 {
	if p := t.field(i, 1); p != 0 {
		return t.b.u8(p)
	}
	return def
}

func (t fbTable) boolean(i int) bool { return t.u8(i, 0) != 0 }

func (t fbTable) i32(i int, def int32) int32 {
	if p := t.field(i, 4); p != 0 {
		return int32(t.b.u32(p))
	}
	return def
}

func (t fbTable) u32(i int, def uint32) uint32 {
	if p := t.field(i, 4); p != 0 {
		return t.b.u32(p)
	}
	return def
}

func (t fbTable) u64(i int, def uint64) uint64 {
	if p := t.field(i, 8); p != 0 {
		return t.b.u64(p)
	}
	return def
}

// sub returns the table referenced by field i.
func (t fbTable) sub(i int) (fbTable, bool) {
	p := t.field(i, 4)
	if p == 0 {
		return fbTable{}, false
	}
	return t.b.table(t.b.deref(p)), true
}

// fbVec is a vector: the position of its first element and its length.
type fbVec struct {
	b   fbuf
	pos int64
	n   int
	w   int64
}

// vec returns the vector of w-byte elements referenced by field i (an absent
// vector is empty).
func (t fbTable) vec(i int, w int64) fbVec {
	p := t.field(i, 4)
	if p == 0 {
		return fbVec{b: t.b, w: w}
	}
	v := t.b.deref(p)
	n := int64(t.b.u32(v))
	t.b.check(v+4, n*w)
	return fbVec{b: t.b, pos: v + 4, n: int(n), w: w}
}

// has reports whether field i is present.
func (t fbTable) has(i int) bool { return t.field(i, 1) != 0 }

func (v fbVec) i32(k int) int32 { return int32(v.b.u32(v.pos + int64(k)*4)) }

func (v fbVec) table(k int) fbTable {
	p := v.pos + int64(k)*4
	return v.b.table(v.b.deref(p))
}

func (v fbVec) bytes() []byte { return v.b[v.pos : v.pos+int64(v.n)*v.w] }

// ints returns an int32 vector as ints.
func (v fbVec) ints() []int {
	out := make([]int, v.n)
	for k := range out {
		out[k] = int(v.i32(k))
	}
	return out
}

// str returns the string in field i ("" when absent).
func (t fbTable) str(i int) string {
	v := t.vec(i, 1)
	return string(v.bytes())
}
