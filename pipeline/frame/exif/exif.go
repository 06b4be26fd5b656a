// Package exif reads the one EXIF fact facegate needs, a JPEG's
// orientation, and turns decoded photos upright by it: phones record
// portrait photos sideways with an orientation tag. It imports nothing of
// the project, so cameras, the gallery and the CLI can all use it.
package exif

import (
	"encoding/binary"
	"image"
	"image/draw"
)

// Upright returns img, decoded from data, turned as a JPEG's EXIF
// orientation says (phones record portrait photos sideways with a tag).
// Other formats and untagged JPEGs come back unchanged.
func Upright(data []byte, img image.Image) image.Image {
	if o := Orientation(data); o > 1 {
		return orient(img, o)
	}
	return img
}

// Orientation returns the EXIF orientation (1–8) of a JPEG, or 0 when
// it has none or it cannot be read.
func Orientation(jpg []byte) int {
	if len(jpg) < 4 || jpg[0] != 0xff || jpg[1] != 0xd8 {
		return 0
	}
	p := 2
	for p+4 <= len(jpg) {
		if jpg[p] != 0xff {
			return 0
		}
		marker := jpg[p+1]
		if marker == 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker == 0x01 {
			p += 2 // markers without a length
			continue
		}
		if marker == 0xda || marker == 0xd9 { // image data: no EXIF after this
			return 0
		}
		n := int(binary.BigEndian.Uint16(jpg[p+2:]))
		if n < 2 || p+2+n > len(jpg) {
			return 0
		}
		seg := jpg[p+4 : p+2+n]
		if marker == 0xe1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			return tiffOrientation(seg[6:])
		}
		p += 2 + n
	}
	return 0
}

// tiffOrientation reads tag 0x0112 from IFD0 of an EXIF TIFF structure.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 0
	}
	if bo.Uint16(t[2:]) != 42 {
		return 0
	}
	ifd := int(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > len(t) {
		return 0
	}
	count := int(bo.Uint16(t[ifd:]))
	for i := 0; i < count; i++ {
		e := ifd + 2 + 12*i
		if e+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 { // SHORT
			if o := int(bo.Uint16(t[e+8:])); o >= 1 && o <= 8 {
				return o
			}
			return 0
		}
	}
	return 0
}

// orient returns img transformed so that a photo with EXIF orientation o
// displays upright.
func orient(img image.Image, o int) image.Image {
	b := img.Bounds()
	src := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(src, src.Bounds(), img, b.Min, draw.Src)
	w, h := b.Dx(), b.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := 0; y < dh; y++ {
		for x := 0; x < dw; x++ {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6: // rotate 90° clockwise
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8: // rotate 90° counter-clockwise
				sx, sy = w-1-y, x
			default:
				sx, sy = x, y
			}
			copy(dst.Pix[dst.PixOffset(x, y):][:4], src.Pix[src.PixOffset(sx, sy):][:4])
		}
	}
	return dst
}
