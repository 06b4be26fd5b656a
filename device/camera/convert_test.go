package camera

// The reference conversions the tests check the readers' written-out loops
// against: BT.601 in fixed point, one pixel at a time.

// yccVideo converts one pixel from Y, Cb, Cr to B, G, R with BT.601's
// video-range coefficients (Y 16–235), as cameras and Y4M files use.
func yccVideo(y, cb, cr int32) (byte, byte, byte) {
	yy := (y-16)*298 + 128
	cb, cr = cb-128, cr-128
	return clamp8(yy + 516*cb), clamp8(yy - 100*cb - 208*cr), clamp8(yy + 409*cr)
}

// yccFull converts one pixel with the full-range (JPEG/JFIF) coefficients.
func yccFull(y, cb, cr int32) (byte, byte, byte) {
	yy := y<<8 + 128
	cb, cr = cb-128, cr-128
	return clamp8(yy + 454*cb), clamp8(yy - 88*cb - 183*cr), clamp8(yy + 359*cr)
}

// putYCC writes one BGR pixel from Y, Cb, Cr: video range unless full.
func putYCC(p []byte, y, cb, cr int32, full bool) {
	if full {
		p[0], p[1], p[2] = yccFull(y, cb, cr)
	} else {
		p[0], p[1], p[2] = yccVideo(y, cb, cr)
	}
}
