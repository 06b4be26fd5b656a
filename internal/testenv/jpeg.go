package testenv

import (
	"bytes"
	"encoding/binary"
)

// WithOrientation returns jpg with an EXIF APP1 segment inserted after its
// SOI marker, holding orientation o in a TIFF of the given byte order. A
// first tag (Make, 0x010f) precedes the orientation, so a reader must walk
// the IFD rather than read its first entry.
func WithOrientation(jpg []byte, o uint16, bo binary.ByteOrder) []byte {
	var t bytes.Buffer
	if bo == binary.LittleEndian {
		t.WriteString("II")
	} else {
		t.WriteString("MM")
	}
	w := func(v any) { _ = binary.Write(&t, bo, v) }
	w(uint16(42))
	w(uint32(8)) // IFD0 right after the header
	w(uint16(2))
	w(uint16(0x010f)) // Make: ASCII, 4 bytes inline
	w(uint16(2))
	w(uint32(4))
	w(uint32(0))
	w(uint16(0x0112)) // Orientation: SHORT, one value
	w(uint16(3))
	w(uint32(1))
	w(o)
	w(uint16(0))
	w(uint32(0)) // no next IFD
	seg := append([]byte("Exif\x00\x00"), t.Bytes()...)
	out := []byte{0xff, 0xd8, 0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(out[4:], uint16(len(seg)+2))
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}
