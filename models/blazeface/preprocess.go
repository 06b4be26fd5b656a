package blazeface

import "facegate/pipeline/frame"

// axisTap is how one output coordinate samples one source axis: two source
// indices and their bilinear weights. A weight of 0 marks a tap that falls
// into the black letterbox padding.
type axisTap struct {
	i0, i1 int32
	w0, w1 float32
}

// letterbox maps a W×H source onto the S×S model input the way MediaPipe's
// image-to-tensor step does: the source is centred in a square of side
// max(W, H) padded with black, and that square is sampled bilinearly at the
// centres of the S×S output pixels (no antialiasing, no padded copy).
type letterbox struct {
	w, h, size int
	side       float32 // max(W, H)
	padX, padY float32 // padding on the left and on the top, in source pixels
	xs, ys     []axisTap
}

// setup (re)computes the sampling tables for a W×H source; it allocates only
// when the model size grows, so repeated frames of one size cost nothing.
func (lb *letterbox) setup(w, h, size int) {
	if lb.w == w && lb.h == h && lb.size == size && len(lb.xs) == size {
		return
	}
	lb.w, lb.h, lb.size = w, h, size
	side := max(w, h)
	lb.side = float32(side)
	lb.padX = float32(side-w) / 2
	lb.padY = float32(side-h) / 2
	if cap(lb.xs) < size {
		lb.xs = make([]axisTap, size)
		lb.ys = make([]axisTap, size)
	}
	lb.xs, lb.ys = lb.xs[:size], lb.ys[:size]
	scale := float64(side) / float64(size)
	for i := 0; i < size; i++ {
		lb.xs[i] = tap(i, scale, float64(side-w)/2, w)
		lb.ys[i] = tap(i, scale, float64(side-h)/2, h)
	}
}

// tap computes the bilinear taps of output index i along one axis: the
// output pixel centre (i+0.5) maps to the continuous source coordinate
// (i+0.5)·scale − pad, whose sample position is that minus half a pixel.
// A sample centre outside the image is black padding; inside it, the
// neighbours are clamped to the edge pixels.
func tap(i int, scale, pad float64, n int) axisTap {
	c := (float64(i)+0.5)*scale - pad
	if c < 0 || c > float64(n) {
		return axisTap{}
	}
	p := c - 0.5
	f := floor(p)
	w1 := p - f
	i0, i1 := int(f), int(f)+1
	i0 = min(max(i0, 0), n-1)
	i1 = min(max(i1, 0), n-1)
	return axisTap{i0: int32(i0), i1: int32(i1), w0: float32(1 - w1), w1: float32(w1)}
}

func floor(x float64) float64 {
	f := float64(int64(x))
	if f > x {
		f--
	}
	return f
}

// fillRGB writes the normalised S×S×3 tensor from packed 8-bit pixels:
// pix row y starts at y*stride, and r, g, b are the byte offsets of the
// channels within a pixel (0,1,2 for RGB; 2,1,0 for BGR; 0,0,0 for gray
// with bpp 1).
func (lb *letterbox) fillRGB(dst []float32, pix []byte, stride, bpp, r, g, b int) {
	const k = 1 / 127.5
	o := 0
	for _, ty := range lb.ys {
		if ty.w0 == 0 && ty.w1 == 0 {
			for j := 0; j < 3*lb.size; j++ {
				dst[o+j] = -1
			}
			o += 3 * lb.size
			continue
		}
		row0 := pix[int(ty.i0)*stride:]
		row1 := pix[int(ty.i1)*stride:]
		for _, tx := range lb.xs {
			if tx.w0 == 0 && tx.w1 == 0 {
				dst[o], dst[o+1], dst[o+2] = -1, -1, -1
				o += 3
				continue
			}
			a := int(tx.i0) * bpp
			c := int(tx.i1) * bpp
			w00, w01 := ty.w0*tx.w0, ty.w0*tx.w1
			w10, w11 := ty.w1*tx.w0, ty.w1*tx.w1
			vr := w00*float32(row0[a+r]) + w01*float32(row0[c+r]) + w10*float32(row1[a+r]) + w11*float32(row1[c+r])
			vg := w00*float32(row0[a+g]) + w01*float32(row0[c+g]) + w10*float32(row1[a+g]) + w11*float32(row1[c+g])
			vb := w00*float32(row0[a+b]) + w01*float32(row0[c+b]) + w10*float32(row1[a+b]) + w11*float32(row1[c+b])
			dst[o] = vr*k - 1
			dst[o+1] = vg*k - 1
			dst[o+2] = vb*k - 1
			o += 3
		}
	}
}

// fillFunc is fillRGB for images that are not packed bytes: at returns
// the colour of source pixel (x, y), origin at the image's top-left.
func (lb *letterbox) fillFunc(dst []float32, at func(x, y int) (r, g, b byte)) {
	const k = 1 / 127.5
	o := 0
	for _, ty := range lb.ys {
		for _, tx := range lb.xs {
			if ty.w0 == 0 && ty.w1 == 0 || tx.w0 == 0 && tx.w1 == 0 {
				dst[o], dst[o+1], dst[o+2] = -1, -1, -1
				o += 3
				continue
			}
			var vr, vg, vb float32
			for _, q := range [4]struct {
				x, y int32
				w    float32
			}{{tx.i0, ty.i0, ty.w0 * tx.w0}, {tx.i1, ty.i0, ty.w0 * tx.w1}, {tx.i0, ty.i1, ty.w1 * tx.w0}, {tx.i1, ty.i1, ty.w1 * tx.w1}} {
				if q.w == 0 {
					continue
				}
				r, g, b := at(int(q.x), int(q.y))
				vr += q.w * float32(r)
				vg += q.w * float32(g)
				vb += q.w * float32(b)
			}
			dst[o] = vr*k - 1
			dst[o+1] = vg*k - 1
			dst[o+2] = vb*k - 1
			o += 3
		}
	}
}

// channels returns the byte offsets of R, G and B in a frame's pixels.
func channels(f frame.Format) (r, g, b int) {
	if f == frame.BGR {
		return 2, 1, 0
	}
	return 0, 1, 2
}
