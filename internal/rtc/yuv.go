package rtc

// i420ToRGB converts a planar 4:2:0 picture (BT.601 limited range, what VP8
// carries from browsers) into packed RGB. Integer arithmetic with 16-bit
// fixed-point coefficients: within ±1 of the float formula.
func i420ToRGB(dst []byte, w, h int, y []byte, sy int, u []byte, su int, v []byte, sv int) {
	for j := 0; j < h; j++ {
		yr := y[j*sy : j*sy+w]
		ur := u[(j/2)*su:]
		vr := v[(j/2)*sv:]
		out := dst[j*3*w : (j+1)*3*w]
		for i, yy := range yr {
			c := (int32(yy) - 16) * 76309 // 1.164 << 16
			d := int32(ur[i/2]) - 128
			e := int32(vr[i/2]) - 128
			r := (c + 104597*e + 32768) >> 16
			g := (c - 25675*d - 53279*e + 32768) >> 16
			b := (c + 132201*d + 32768) >> 16
			out[3*i] = clamp8(r)
			out[3*i+1] = clamp8(g)
			out[3*i+2] = clamp8(b)
		}
	}
}

func clamp8(x int32) byte {
	if x < 0 {
		return 0
	}
	if x > 255 {
		return 255
	}
	return byte(x)
}
