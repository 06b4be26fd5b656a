package camera

import (
	"math/bits"

	"facegate/pipeline/frame"
)

const (
	// bilinearBits is the fixed-point precision of bilinear weights
	// (OpenCV uses 11 bits too).
	bilinearBits = 11
	// resizeTile is how many output columns share one table of taps,
	// worked out once and kept on the stack.
	resizeTile = 512
)

// resizeBGR resizes src (any stride) into dst as a packed w×h frame of the
// same format, reusing dst's buffer. Each axis is resampled on its own:
// a shrinking axis by area averaging, each output pixel the mean of the
// source pixels it covers weighted by how much of them it covers (what
// OpenCV's INTER_AREA gives, and what detectors expect: no aliasing); a
// growing axis by bilinear interpolation between pixel centres. A src with
// no pixels or too short a buffer gives a black frame.
func resizeBGR(dst, src *frame.Frame, w, h int) {
	w, h = max(w, 0), max(h, 0)
	format := src.Format
	sizeBGR(dst, w, h)
	dst.Format = format
	if w == 0 || h == 0 {
		return
	}
	sw, sh, ss := src.Width, src.Height, src.Stride
	if sw < 1 || sh < 1 || ss < 3*sw || len(src.Pix) < ss*(sh-1)+3*sw ||
		uint64(sw) > 1<<31-1 || uint64(sh) > 1<<31-1 || uint64(w) > 1<<31-1 || uint64(h) > 1<<31-1 {
		clear(dst.Pix)
		return
	}
	if sw == w && sh == h {
		for y := 0; y < h; y++ {
			copy(dst.Pix[y*dst.Stride:][:3*w], src.Pix[y*ss:][:3*w])
		}
		return
	}
	ax, ay := newAxis(sw, w), newAxis(sh, h)
	div := newDivider(ax.den() * ay.den())
	var xt [resizeTile]taps
	xs := ax.steps()
	for ox0 := 0; ox0 < w; ox0 += resizeTile {
		tile := xt[:min(resizeTile, w-ox0)]
		for i := range tile {
			tile[i] = xs.next()
		}
		ys := ay.steps()
		for oy := 0; oy < h; oy++ {
			ty := ys.next()
			out := dst.Pix[oy*dst.Stride+3*ox0:][:3*len(tile)]
			i0, n := int(ty.i0), int(ty.n)
			first, mid, last := uint64(ty.first), uint64(ty.mid), uint64(ty.last)
			rowFirst, rowLast := src.Pix[i0*ss:], src.Pix[(i0+n-1)*ss:]
			for i := range tile {
				tx := &tile[i]
				o := out[3*i : 3*i+3]
				if n == 2 && tx.n == 2 {
					// Two by two taps (shrinking by up to 2, or growing):
					// the common case, written out.
					p, q := rowFirst[3*int(tx.i0):][:6], rowLast[3*int(tx.i0):][:6]
					f, l := uint64(tx.first), uint64(tx.last)
					o[0] = div.round((uint64(p[0])*f+uint64(p[3])*l)*first + (uint64(q[0])*f+uint64(q[3])*l)*last)
					o[1] = div.round((uint64(p[1])*f+uint64(p[4])*l)*first + (uint64(q[1])*f+uint64(q[4])*l)*last)
					o[2] = div.round((uint64(p[2])*f+uint64(p[5])*l)*first + (uint64(q[2])*f+uint64(q[5])*l)*last)
					continue
				}
				b, g, r := tx.sum(rowFirst)
				b, g, r = b*first, g*first, r*first
				if n > 1 {
					var mb, mg, mr uint64
					for k := 1; k < n-1; k++ {
						kb, kg, kr := tx.sum(src.Pix[(i0+k)*ss:])
						mb, mg, mr = mb+kb, mg+kg, mr+kr
					}
					lb, lg, lr := tx.sum(rowLast)
					b += mb*mid + lb*last
					g += mg*mid + lg*last
					r += mr*mid + lr*last
				}
				o[0], o[1], o[2] = div.round(b), div.round(g), div.round(r)
			}
		}
	}
}

// axis maps output samples to source samples along one axis.
type axis struct {
	src, dst int
	area     bool // shrinking (or equal): area averaging
}

func newAxis(src, dst int) axis {
	return axis{src: src, dst: dst, area: src >= dst}
}

// den is what the weights of one output sample add up to.
func (a axis) den() uint64 {
	if a.area {
		return uint64(a.src)
	}
	return 1 << bilinearBits
}

// taps are the source samples one output sample is made of: n samples
// from i0, weighted first, mid (each inner one) and last. They are kept
// small so that a tile of them fits on the stack.
type taps struct {
	i0, n            int32
	first, mid, last uint32
}

// sum returns the weighted sum of the taps along a row starting at row.
func (t *taps) sum(row []byte) (b, g, r uint64) {
	p := row[3*int(t.i0):]
	first, last := uint64(t.first), uint64(t.last)
	switch t.n {
	case 1:
		p = p[:3]
		return uint64(p[0]) * first, uint64(p[1]) * first, uint64(p[2]) * first
	case 2:
		p = p[:6]
		return uint64(p[0])*first + uint64(p[3])*last,
			uint64(p[1])*first + uint64(p[4])*last,
			uint64(p[2])*first + uint64(p[5])*last
	}
	p = p[:3*int(t.n)]
	var mb, mg, mr uint64
	for j := 3; j < len(p)-3; j += 3 {
		q := p[j : j+3]
		mb += uint64(q[0])
		mg += uint64(q[1])
		mr += uint64(q[2])
	}
	l, mid := p[len(p)-3:], uint64(t.mid)
	b = uint64(p[0])*first + mb*mid + uint64(l[0])*last
	g = uint64(p[1])*first + mg*mid + uint64(l[1])*last
	r = uint64(p[2])*first + mr*mid + uint64(l[2])*last
	return b, g, r
}

// ratio steps floor((a + o·b)/den) and its remainder through o = 0, 1, …
// without dividing at each step.
type ratio struct {
	q, r, dq, dr, den uint64
}

func newRatio(a, b, den uint64) ratio {
	return ratio{q: a / den, r: a % den, dq: b / den, dr: b % den, den: den}
}

func (s *ratio) step() {
	s.q += s.dq
	s.r += s.dr
	if s.r >= s.den {
		s.r -= s.den
		s.q++
	}
}

// tapper yields the taps of output samples 0, 1, … of an axis in turn.
type tapper struct {
	a   axis
	pos ratio
}

func (a axis) steps() tapper {
	if a.area {
		// In units where a source sample is dst wide and an output
		// sample src wide, output o covers [o·src, (o+1)·src): pos is
		// where the next output sample starts, in source samples.
		return tapper{a: a, pos: newRatio(0, uint64(a.src), uint64(a.dst))}
	}
	// pos is the centre of output o, (o+½)·src/dst − ½ source samples,
	// to the nearest 1/2^bilinearBits, plus ½ so that it stays unsigned.
	const one = 1 << bilinearBits
	return tapper{a: a, pos: newRatio(uint64(a.src)*one+uint64(a.dst), 2*uint64(a.src)*one, 2*uint64(a.dst))}
}

func (t *tapper) next() taps {
	a := &t.a
	if a.area {
		i0, r0 := t.pos.q, t.pos.r
		t.pos.step()
		i1, r1 := t.pos.q, t.pos.r
		tp := taps{i0: int32(i0), n: int32(i1 - i0), first: uint32(min(uint64(a.dst)-r0, uint64(a.src))), mid: uint32(a.dst), last: uint32(a.dst)}
		if r1 > 0 {
			tp.n++
			tp.last = uint32(r1)
		}
		return tp
	}
	const one = 1 << bilinearBits
	p := t.pos.q
	t.pos.step()
	if p <= one/2 { // left of the first centre: the edge sample
		return taps{i0: 0, n: 1, first: one}
	}
	p -= one / 2
	i0, f := int(p>>bilinearBits), uint32(p&(one-1))
	if i0 >= a.src-1 { // right of the last centre
		return taps{i0: int32(a.src - 1), n: 1, first: one}
	}
	if f == 0 {
		return taps{i0: int32(i0), n: 1, first: one}
	}
	return taps{i0: int32(i0), n: 2, first: one - f, last: f}
}

// divider divides by a constant with rounding, through a multiply by its
// reciprocal: a hardware division per output channel would dominate the
// resize on small ARM cores.
type divider struct {
	d, half, m uint64 // m = 0: divide plainly
}

// divMaxFast bounds d for the reciprocal: with m = ⌈2⁶⁴/d⌉, floor(n·m/2⁶⁴)
// equals floor(n/d) while n·(m·d − 2⁶⁴) < 2⁶⁴, and here n < 256·d and
// m·d − 2⁶⁴ < d, so d < 2²⁸ is enough.
const divMaxFast = 1 << 28

func newDivider(d uint64) divider {
	dv := divider{d: d, half: d / 2}
	if d > 1 && d < divMaxFast {
		q, r := bits.Div64(1, 0, d)
		if r != 0 {
			q++
		}
		dv.m = q
	}
	return dv
}

// round returns n/d rounded half up, saturated to a byte.
func (dv divider) round(n uint64) byte {
	n += dv.half
	var q uint64
	if dv.m != 0 {
		q, _ = bits.Mul64(n, dv.m)
	} else {
		q = n / dv.d
	}
	return byte(min(q, 255))
}
