package exif

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// withOrientation inserts an EXIF APP1 segment with the given orientation
// (big- or little-endian TIFF) right after the JPEG's SOI marker.
func withOrientation(jpg []byte, o uint16, bo binary.ByteOrder) []byte {
	var t bytes.Buffer
	if bo == binary.LittleEndian {
		t.WriteString("II")
	} else {
		t.WriteString("MM")
	}
	w := func(v any) { _ = binary.Write(&t, bo, v) }
	w(uint16(42))
	w(uint32(8))
	w(uint16(2)) // two entries: another tag first, then orientation
	w(uint16(0x010f))
	w(uint16(2))
	w(uint32(4))
	w(uint32(0))
	w(uint16(0x0112))
	w(uint16(3))
	w(uint32(1))
	w(o)
	w(uint16(0))
	w(uint32(0))
	seg := append([]byte("Exif\x00\x00"), t.Bytes()...)
	out := []byte{0xff, 0xd8, 0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(out[4:], uint16(len(seg)+2))
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

func FuzzExifOrientation(f *testing.F) {
	f.Add(withOrientation([]byte{0xff, 0xd8, 0xff, 0xd9}, 6, binary.BigEndian))
	f.Add([]byte{0xff, 0xd8})
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := Orientation(b); o < 0 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}
