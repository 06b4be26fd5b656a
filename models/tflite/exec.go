package tflite

import (
	"math"

	"facegate/models/tflite/internal/kern"
)

// A step is one planned node bound to its buffers in the arena. Its work is
// split into units (rows); run computes units [lo, hi) with the scratch of
// one worker, so steps can be shared out across threads.
type step interface {
	units() int
	run(w *worker, lo, hi int)
}

// worker is the per-thread scratch space.
type worker struct {
	col []float32     // im2col tile
	tmp []float32     // padded GEMM output tile
	ep  kern.Epilogue // epilogue with a shifted residual
}

// gemmStep is a convolution computed as C = A·Wᵀ over output pixels: A is the
// input itself for 1×1 stride-1 convolutions and an im2col tile otherwise.
// Layers with fewer than minGemmN output channels run on weights padded with
// zero rows (the kernels are much faster on full panels) into a scratch
// tile, and the real channels are copied out.
type gemmStep struct {
	in, out    []float32
	h, w, c    int // input
	oh, ow     int
	kh, kw     int
	sh, sw     int
	padT, padL int
	k, n       int // K = kh·kw·c, N = output channels
	m          int // output pixels over the batch
	direct     bool
	padded     bool // p has more rows than n
	tile       int
	p          *kern.Packed
	ep         kern.Epilogue
	epPad      kern.Epilogue // padded runs: bias (and activation when no residual)
}

func (s *gemmStep) units() int { return s.m }

func (s *gemmStep) run(w *worker, lo, hi int) {
	if s.direct && !s.padded {
		kern.Gemm(s.out, s.n, s.in, s.c, lo, hi, s.p, &s.ep)
		return
	}
	for m0 := lo; m0 < hi; m0 += s.tile {
		m1 := min(m0+s.tile, hi)
		a, lda := s.in[m0*s.c:], s.c
		if !s.direct {
			s.im2col(w.col, m0, m1)
			a, lda = w.col, s.k
		}
		if s.padded {
			kern.Gemm(w.tmp, s.p.N, a, lda, 0, m1-m0, s.p, &s.epPad)
			s.copyOut(w.tmp, m0, m1)
			continue
		}
		w.ep = s.ep
		if s.ep.Residual != nil {
			w.ep.Residual = s.ep.Residual[m0*s.n:]
		}
		kern.Gemm(s.out[m0*s.n:], s.n, a, lda, 0, m1-m0, s.p, &w.ep)
	}
}

// copyOut moves the real channels of a padded tile to the output, adding
// the residual and applying the activation when the kernel could not.
func (s *gemmStep) copyOut(tmp []float32, m0, m1 int) {
	np, n := s.p.N, s.n
	for m := m0; m < m1; m++ {
		src := tmp[(m-m0)*np : (m-m0)*np+n]
		dst := s.out[m*n : (m+1)*n]
		if s.ep.Residual == nil {
			copy(dst, src)
			continue
		}
		r := s.ep.Residual[m*n : (m+1)*n]
		r, src = r[:len(dst)], src[:len(dst)]
		for i := range dst {
			v := src[i] + r[i]
			switch s.ep.Act {
			case kern.ActRelu:
				v = max(v, 0)
			case kern.ActRelu6:
				v = min(max(v, 0), 6)
			case kern.ActPRelu:
				if v < 0 {
					v *= s.ep.Alpha[i]
				}
			}
			dst[i] = v
		}
	}
}

// im2col writes the patches of output pixels [m0, m1) as rows of col, in
// the weights' (ky, kx, c) order, with zeros outside the input. It walks
// one output row at a time; for interior pixels each kernel row is one
// contiguous run of the input.
func (s *gemmStep) im2col(col []float32, m0, m1 int) {
	c, k := s.c, s.k
	perImg := s.oh * s.ow
	// Output columns [xa, xb) have every kernel column inside the input.
	xa := (s.padL + s.sw - 1) / s.sw
	xb := 0
	if r := s.w - s.kw + s.padL; r >= 0 {
		xb = r/s.sw + 1
	}
	for m := m0; m < m1; {
		img := m / perImg
		r := m - img*perImg
		oy, ox0 := r/s.ow, r%s.ow
		ox1 := min(s.ow, ox0+m1-m)
		base := s.in[img*s.h*s.w*c : (img+1)*s.h*s.w*c]
		iy0 := oy*s.sh - s.padT
		a, b := ox0, ox0 // interior run [a, b)
		if iy0 >= 0 && iy0+s.kh <= s.h {
			a, b = min(max(xa, ox0), ox1), max(min(xb, ox1), ox0)
			if a > b {
				a, b = ox0, ox0
			}
		}
		j := (m - m0) * k
		for ox := ox0; ox < a; ox++ {
			s.im2colEdge(col[j:j+k], base, ox*s.sw-s.padL, iy0)
			j += k
		}
		if a < b {
			s.im2colRun(col[j:j+(b-a)*k], base, (iy0*s.w+a*s.sw-s.padL)*c, b-a)
			j += (b - a) * k
		}
		for ox := max(b, a); ox < ox1; ox++ {
			s.im2colEdge(col[j:j+k], base, ox*s.sw-s.padL, iy0)
			j += k
		}
		m += ox1 - ox0
	}
}

// im2colRun writes n interior patches starting at input offset o.
func (s *gemmStep) im2colRun(dst, base []float32, o, n int) {
	c, k := s.c, s.k
	rowW, step, ws := s.kw*c, s.sw*c, s.w*c
	switch {
	case rowW == 9 && s.kh == 3: // 3×3 over RGB
		for i := range n {
			d := dst[i*k : i*k+27]
			*(*[9]float32)(d[0:]) = *(*[9]float32)(base[o:])
			*(*[9]float32)(d[9:]) = *(*[9]float32)(base[o+ws:])
			*(*[9]float32)(d[18:]) = *(*[9]float32)(base[o+2*ws:])
			o += step
		}
	case rowW == 15 && s.kh == 5: // 5×5 over RGB
		for i := range n {
			d := dst[i*k : i*k+75]
			*(*[15]float32)(d[0:]) = *(*[15]float32)(base[o:])
			*(*[15]float32)(d[15:]) = *(*[15]float32)(base[o+ws:])
			*(*[15]float32)(d[30:]) = *(*[15]float32)(base[o+2*ws:])
			*(*[15]float32)(d[45:]) = *(*[15]float32)(base[o+3*ws:])
			*(*[15]float32)(d[60:]) = *(*[15]float32)(base[o+4*ws:])
			o += step
		}
	default:
		for i := range n {
			row := dst[i*k : (i+1)*k]
			oo := o
			for ky := range s.kh {
				copyShort(row[ky*rowW:(ky+1)*rowW], base[oo:oo+rowW])
				oo += ws
			}
			o += step
		}
	}
}

// im2colEdge fills one patch row that overlaps the padding.
func (s *gemmStep) im2colEdge(row, base []float32, ix0, iy0 int) {
	c, rowW := s.c, s.kw*s.c
	kx0 := max(0, -ix0)
	kx1 := min(s.kw, s.w-ix0)
	for ky := range s.kh {
		seg := row[ky*rowW : (ky+1)*rowW]
		iy := iy0 + ky
		if iy < 0 || iy >= s.h || kx1 <= kx0 {
			clear(seg)
			continue
		}
		clear(seg[:kx0*c])
		o := (iy*s.w + ix0 + kx0) * c
		copyShort(seg[kx0*c:kx1*c], base[o:o+(kx1-kx0)*c])
		clear(seg[kx1*c:])
	}
}

// copyShort copies like copy, without the call overhead on short runs.
func copyShort(dst, src []float32) {
	if len(dst) > 16 {
		copy(dst, src)
		return
	}
	src = src[:len(dst)]
	for i := range dst {
		dst[i] = src[i]
	}
}

// dwStep is a depthwise convolution; units are output rows over the batch.
type dwStep struct {
	in, out []float32
	w       []float32
	p       kern.DWParams
	eps     []kern.Epilogue // per image (residual shifted)
	batch   int
}

func (s *dwStep) units() int { return s.batch * s.p.OH }

func (s *dwStep) run(_ *worker, lo, hi int) {
	p := &s.p
	inSz, outSz := p.H*p.W*p.C, p.OH*p.OW*p.C
	for lo < hi {
		img := lo / p.OH
		y0 := lo - img*p.OH
		y1 := min(p.OH, y0+hi-lo)
		kern.Depthwise(s.out[img*outSz:(img+1)*outSz], s.in[img*inSz:(img+1)*inSz], s.w, p, &s.eps[img], y0, y1)
		lo += y1 - y0
	}
}

// activate applies a fused activation (not PReLU) to v in place.
func activate(v []float32, a kern.ActKind) {
	switch a {
	case kern.ActRelu:
		for i, x := range v {
			v[i] = max(x, 0)
		}
	case kern.ActRelu6:
		for i, x := range v {
			v[i] = min(max(x, 0), 6)
		}
	}
}

// binStep is ADD, SUB or MUL of two same-shape activations; units are rows
// of the last dimension.
type binStep struct {
	a, b, out []float32
	kind      opKind
	act       kern.ActKind
	row       int
}

func (s *binStep) units() int { return len(s.out) / s.row }

func (s *binStep) run(_ *worker, lo, hi int) {
	i0, i1 := lo*s.row, hi*s.row
	o, a, b := s.out[i0:i1], s.a[i0:i1], s.b[i0:i1]
	a, b = a[:len(o)], b[:len(o)]
	switch s.kind {
	case kAdd:
		for i := range o {
			o[i] = a[i] + b[i]
		}
	case kSub:
		for i := range o {
			o[i] = a[i] - b[i]
		}
	case kMul:
		for i := range o {
			o[i] = a[i] * b[i]
		}
	}
	activate(o, s.act)
}

// constStep is ADD, SUB or MUL with a constant: a scalar, one value per
// channel (the last dimension), or a same-shape tensor.
type constStep struct {
	x, out []float32
	c      []float32 // one row
	full   []float32 // same-shape constant, or nil
	kind   opKind
	left   bool // constant on the left (c − x)
	scalar bool // c holds one value for every element
	act    kern.ActKind
	row    int
}

func (s *constStep) units() int { return len(s.out) / s.row }

func (s *constStep) run(_ *worker, lo, hi int) {
	for u := lo; u < hi; u++ {
		o := s.out[u*s.row : (u+1)*s.row]
		x := s.x[u*s.row : (u+1)*s.row]
		c := s.c
		if s.scalar {
			s.runScalar(o, x)
			continue
		}
		if s.full != nil {
			c = s.full[u*s.row : (u+1)*s.row]
		}
		x, c = x[:len(o)], c[:len(o)]
		switch {
		case s.kind == kAdd:
			for i := range o {
				o[i] = x[i] + c[i]
			}
		case s.kind == kMul:
			for i := range o {
				o[i] = x[i] * c[i]
			}
		case s.left:
			for i := range o {
				o[i] = c[i] - x[i]
			}
		default:
			for i := range o {
				o[i] = x[i] - c[i]
			}
		}
		activate(o, s.act)
	}
}

// runScalar is one row of the operation with a scalar constant.
func (s *constStep) runScalar(o, x []float32) {
	x = x[:len(o)]
	c := s.c[0]
	switch {
	case s.kind == kAdd:
		for i := range o {
			o[i] = x[i] + c
		}
	case s.kind == kMul:
		for i := range o {
			o[i] = x[i] * c
		}
	case s.left:
		for i := range o {
			o[i] = c - x[i]
		}
	default:
		for i := range o {
			o[i] = x[i] - c
		}
	}
	activate(o, s.act)
}

// unaryStep is RELU, RELU6, ABS or PReLU over rows of the last dimension.
type unaryStep struct {
	x, out []float32
	kind   opKind
	alpha  []float32
	row    int
}

func (s *unaryStep) units() int { return len(s.out) / s.row }

func (s *unaryStep) run(_ *worker, lo, hi int) {
	o, x := s.out[lo*s.row:hi*s.row], s.x[lo*s.row:hi*s.row]
	x = x[:len(o)]
	switch s.kind {
	case kRelu:
		for i, v := range x {
			o[i] = max(v, 0)
		}
	case kRelu6:
		for i, v := range x {
			o[i] = min(max(v, 0), 6)
		}
	case kAbs:
		for i, v := range x {
			o[i] = float32(math.Abs(float64(v)))
		}
	case kPRelu:
		for u := 0; u < len(o); u += s.row {
			r, xr := o[u:u+s.row], x[u:u+s.row]
			a := s.alpha[:len(r)]
			xr = xr[:len(r)]
			for i, v := range xr {
				if v < 0 {
					v *= a[i]
				}
				r[i] = v
			}
		}
	}
}

// padStep is a zero PAD of a 4-D tensor (lower ranks are lifted to 4-D);
// units are output rows (batch × height).
type padStep struct {
	in, out  []float32
	ish, osh [4]int
	before   [4]int
}

func (s *padStep) units() int { return s.osh[0] * s.osh[1] }

func (s *padStep) run(_ *worker, lo, hi int) {
	ow, oc := s.osh[2], s.osh[3]
	iw, ic := s.ish[2], s.ish[3]
	rowLen := ow * oc
	for u := lo; u < hi; u++ {
		n, y := u/s.osh[1], u%s.osh[1]
		row := s.out[u*rowLen : (u+1)*rowLen]
		in, iy := n-s.before[0], y-s.before[1]
		if in < 0 || in >= s.ish[0] || iy < 0 || iy >= s.ish[1] {
			clear(row)
			continue
		}
		src := s.in[(in*s.ish[1]+iy)*iw*ic : (in*s.ish[1]+iy+1)*iw*ic]
		l := s.before[2] * oc
		clear(row[:l])
		if ic == oc {
			copy(row[l:l+iw*ic], src)
		} else {
			c0 := s.before[3]
			for x := range iw {
				px := row[l+x*oc : l+(x+1)*oc]
				clear(px[:c0])
				copy(px[c0:c0+ic], src[x*ic:(x+1)*ic])
				clear(px[c0+ic:])
			}
		}
		clear(row[l+iw*oc:])
	}
}

// poolStep is MAX_POOL_2D; units are output rows over the batch.
type poolStep struct {
	in, out    []float32
	h, w, c    int
	oc         int // output channels: c, or more with zeros appended (fused PAD)
	oh, ow     int
	fh, fw     int
	sh, sw     int
	padT, padL int
	act        kern.ActKind
}

func (s *poolStep) units() int { return len(s.out) / (s.ow * s.oc) }

func (s *poolStep) run(_ *worker, lo, hi int) {
	c := s.c
	if s.fh == 2 && s.fw == 2 && s.sh == 2 && s.sw == 2 && s.padT == 0 && s.padL == 0 &&
		2*s.oh <= s.h && 2*s.ow <= s.w {
		s.run2x2(lo, hi)
		return
	}
	for u := lo; u < hi; u++ {
		n, oy := u/s.oh, u%s.oh
		y0 := max(oy*s.sh-s.padT, 0)
		y1 := min(oy*s.sh-s.padT+s.fh, s.h)
		img := s.in[n*s.h*s.w*c : (n+1)*s.h*s.w*c]
		for ox := range s.ow {
			x0 := max(ox*s.sw-s.padL, 0)
			x1 := min(ox*s.sw-s.padL+s.fw, s.w)
			px := s.out[(u*s.ow+ox)*s.oc : (u*s.ow+ox+1)*s.oc]
			clear(px[c:])
			o := px[:c]
			for i := range o {
				o[i] = float32(math.Inf(-1))
			}
			for y := y0; y < y1; y++ {
				for x := x0; x < x1; x++ {
					p := img[(y*s.w+x)*c : (y*s.w+x+1)*c]
					p = p[:len(o)]
					for i, v := range p {
						o[i] = max(o[i], v)
					}
				}
			}
			activate(o, s.act)
		}
	}
}

// run2x2 is the common 2×2 stride-2 pool with every window inside.
func (s *poolStep) run2x2(lo, hi int) {
	c := s.c
	for u := lo; u < hi; u++ {
		n, oy := u/s.oh, u%s.oh
		img := s.in[n*s.h*s.w*c : (n+1)*s.h*s.w*c]
		r0 := img[2*oy*s.w*c : (2*oy+1)*s.w*c]
		r1 := img[(2*oy+1)*s.w*c : (2*oy+2)*s.w*c]
		for ox := range s.ow {
			px := s.out[(u*s.ow+ox)*s.oc : (u*s.ow+ox+1)*s.oc]
			if s.oc > c {
				z := px[c:]
				for i := range z {
					z[i] = 0
				}
			}
			o := px[:c]
			a, b := r0[2*ox*c:(2*ox+1)*c], r0[(2*ox+1)*c:(2*ox+2)*c]
			d, e := r1[2*ox*c:(2*ox+1)*c], r1[(2*ox+1)*c:(2*ox+2)*c]
			a, b, d, e = a[:len(o)], b[:len(o)], d[:len(o)], e[:len(o)]
			for i := range o {
				o[i] = max(max(a[i], b[i]), max(d[i], e[i]))
			}
			activate(o, s.act)
		}
	}
}

// resizeStep is RESIZE_BILINEAR with precomputed source rows and columns.
type resizeStep struct {
	in, out []float32
	res     []float32 // fused residual ADD, or nil
	act     kern.ActKind
	h, w, c int
	oh, ow  int
	y0, y1  []int
	fy      []float32
	x0, x1  []int
	fx      []float32
}

func (s *resizeStep) units() int { return len(s.out) / (s.ow * s.c) }

func (s *resizeStep) run(w *worker, lo, hi int) {
	rowLen := s.ow * s.c
	// Two input rows interpolated along x, reused by the output rows that
	// blend them (each input row serves about two rows when upsampling 2×).
	buf := w.tmp[:2*rowLen]
	key := [2]int{-1, -1}
	row := func(k, keep int) []float32 {
		for i := range 2 {
			if key[i] == k {
				return buf[i*rowLen : (i+1)*rowLen]
			}
		}
		i := 0
		if key[0] == keep {
			i = 1
		}
		key[i] = k
		h := buf[i*rowLen : (i+1)*rowLen]
		s.lerpRow(h, s.in[k*s.w*s.c:(k+1)*s.w*s.c])
		return h
	}
	for u := lo; u < hi; u++ {
		n, oy := u/s.oh, u%s.oh
		k0, k1 := n*s.h+s.y0[oy], n*s.h+s.y1[oy]
		t := row(k0, k1)
		b := row(k1, k0)
		dy := s.fy[oy]
		o := s.out[u*rowLen : (u+1)*rowLen]
		t, b = t[:len(o)], b[:len(o)]
		if s.res != nil {
			r := s.res[u*rowLen : (u+1)*rowLen]
			r = r[:len(o)]
			for i := range o {
				o[i] = t[i] + (b[i]-t[i])*dy + r[i]
			}
		} else {
			for i := range o {
				o[i] = t[i] + (b[i]-t[i])*dy
			}
		}
		activate(o, s.act)
	}
}

// lerpRow interpolates one input row along x into h (ow×c).
func (s *resizeStep) lerpRow(h, in []float32) {
	c := s.c
	for ox := range s.ow {
		dx := s.fx[ox]
		a := in[s.x0[ox]*c : (s.x0[ox]+1)*c]
		b := in[s.x1[ox]*c : (s.x1[ox]+1)*c]
		o := h[ox*c : (ox+1)*c]
		a, b = a[:len(o)], b[:len(o)]
		for i := range o {
			o[i] = a[i] + (b[i]-a[i])*dx
		}
	}
}

// bilinearAxis precomputes the two source indices and the weight of the
// second for each output position (TFLite's rule, including
// half_pixel_centers).
func bilinearAxis(in, out int, align, half bool) (i0, i1 []int, f []float32) {
	scale := float32(in) / float32(out)
	if align && out > 1 {
		scale = float32(in-1) / float32(out-1)
	}
	i0, i1, f = make([]int, out), make([]int, out), make([]float32, out)
	for o := range out {
		var v float32
		if half {
			v = (float32(o)+0.5)*scale - 0.5
		} else {
			v = float32(o) * scale
		}
		fl := float32(math.Floor(float64(v)))
		lo := max(int(fl), 0)
		hi := min(int(math.Ceil(float64(v))), in-1)
		i0[o], i1[o] = min(lo, in-1), max(hi, 0)
		f[o] = v - fl
		if int(fl) < 0 {
			f[o] = 0 // both taps clamp to the first element
		}
	}
	return i0, i1, f
}

// d2sStep is DEPTH_TO_SPACE; units are input rows over the batch.
type d2sStep struct {
	in, out []float32
	h, w, c int // input
	b       int
}

func (s *d2sStep) units() int { return len(s.in) / (s.w * s.c) }

func (s *d2sStep) run(_ *worker, lo, hi int) {
	b, co := s.b, s.c/(s.b*s.b)
	ow := s.w * b
	for u := lo; u < hi; u++ {
		n, y := u/s.h, u%s.h
		for dy := range b {
			orow := s.out[((n*s.h*b)+y*b+dy)*ow*co:]
			for x := range s.w {
				src := s.in[(u*s.w+x)*s.c+dy*b*co:]
				copy(orow[x*b*co:(x+1)*b*co], src[:b*co])
			}
		}
	}
}

// concatStep is CONCATENATION: each input contributes a run per outer index.
type concatStep struct {
	ins   [][]float32
	inner []int // run length of each input
	out   []float32
	outer int
	act   kern.ActKind
}

func (s *concatStep) units() int { return s.outer }

func (s *concatStep) run(_ *worker, lo, hi int) {
	total := 0
	for _, n := range s.inner {
		total += n
	}
	for u := lo; u < hi; u++ {
		o := s.out[u*total : (u+1)*total]
		j := 0
		for k, in := range s.ins {
			n := s.inner[k]
			copy(o[j:j+n], in[u*n:(u+1)*n])
			j += n
		}
		activate(o, s.act)
	}
}
