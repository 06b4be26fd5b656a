package rtc

import (
	"image"

	"facegate/pipeline/frame"
)

// i420ToRGB converts a planar 4:2:0 picture (BT.601 limited range, what VP8
// carries from browsers) into packed RGB. Integer arithmetic with 16-bit
// fixed-point coefficients: within ±1 of the float formula. The chroma
// terms are computed once per pair of pixels that share them.
func i420ToRGB(dst []byte, w, h int, y []byte, sy int, u []byte, su int, v []byte, sv int) {
	for j := 0; j < h; j++ {
		yr := y[j*sy : j*sy+w]
		ur := u[(j/2)*su : (j/2)*su+(w+1)/2]
		vr := v[(j/2)*sv : (j/2)*sv+(w+1)/2]
		out := dst[j*3*w : (j+1)*3*w]
		for i := 0; i < len(ur); i++ {
			d := int32(ur[i]) - 128
			e := int32(vr[i]) - 128
			cr := 104597*e + 32768
			cg := -25675*d - 53279*e + 32768
			cb := 132201*d + 32768
			for k := 2 * i; k < 2*i+2 && k < w; k++ {
				c := (int32(yr[k]) - 16) * 76309 // 1.164 << 16
				o := out[3*k : 3*k+3]
				o[0] = clamp8((c + cr) >> 16)
				o[1] = clamp8((c + cg) >> 16)
				o[2] = clamp8((c + cb) >> 16)
			}
		}
	}
}

// clamp8 saturates to a byte; min and max compile to branch-free moves,
// which matters where pixels hover around black or white.
func clamp8(x int32) byte { return byte(min(max(x, 0), 255)) }

// frameToI420 converts a packed RGB or BGR frame into dst, a 4:2:0 picture
// of the same size (BT.601 limited range); chroma is the mean of each 2×2
// block. Even sizes only (VP8 wants them anyway).
func frameToI420(dst *image.YCbCr, f *frame.Frame) {
	ri, bi := 0, 2
	if f.Format == frame.BGR {
		ri, bi = 2, 0
	}
	w, h := f.Width&^1, f.Height&^1
	for j := 0; j < h; j += 2 {
		r0 := f.Pix[j*f.Stride:]
		r1 := f.Pix[(j+1)*f.Stride:]
		y0 := dst.Y[j*dst.YStride:]
		y1 := dst.Y[(j+1)*dst.YStride:]
		cb := dst.Cb[(j/2)*dst.CStride:]
		cr := dst.Cr[(j/2)*dst.CStride:]
		for i := 0; i < w; i += 2 {
			var sr, sg, sb int32
			for k, row := range [2][]byte{r0, r1} {
				yrow := y0
				if k == 1 {
					yrow = y1
				}
				for d := 0; d < 2; d++ {
					p := row[3*(i+d):]
					r, g, b := int32(p[ri]), int32(p[1]), int32(p[bi])
					yrow[i+d] = byte((16829*r + 33039*g + 6416*b + (16 << 16) + 32768) >> 16)
					sr, sg, sb = sr+r, sg+g, sb+b
				}
			}
			cb[i/2] = byte((-9714*sr - 19070*sg + 28784*sb + (512 << 16) + 131072) >> 18)
			cr[i/2] = byte((28784*sr - 24103*sg - 4681*sb + (512 << 16) + 131072) >> 18)
		}
	}
}
