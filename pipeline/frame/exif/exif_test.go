package exif

import (
	"encoding/binary"
	"testing"

	"facegate/internal/testenv"
)

func FuzzExifOrientation(f *testing.F) {
	f.Add(testenv.WithOrientation([]byte{0xff, 0xd8, 0xff, 0xd9}, 6, binary.BigEndian))
	f.Add([]byte{0xff, 0xd8})
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := Orientation(b); o < 0 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}
