package tflite

import (
	"fmt"
	"math"
	"slices"

	"facegate/models/tflite/internal/kern"
)

const (
	maxArena     = 1 << 27 // floats of activations per interpreter
	align        = 16      // floats: buffers start on 64-byte boundaries
	parThreshold = 1 << 19 // work (MACs or elements) worth waking helpers for
)

// planned is a step with its unit count and threading decision.
type planned struct {
	s      step
	n      int
	align  int
	par    bool
	chunks int // chunks per thread when parallel
}

// plan is everything shape-dependent: tensor shapes, the arena and the
// steps bound to it.
type plan struct {
	shapes  [][]int
	arena   []float32
	bufs    [][]float32
	steps   []planned
	scratch int // im2col floats per worker
	tmp     int // padded GEMM output floats per worker
	macs    int64
}

// padTo returns v extended with zeros to n values (nil stays nil).
func padTo(v []float32, n int) []float32 {
	if v == nil {
		return nil
	}
	out := make([]float32, n)
	copy(out, v)
	return out
}

// makePlan infers every shape from the input shapes, assigns arena storage
// by liveness and binds the steps.
func (m *Model) makePlan(inShapes [][]int, threads int) (*plan, error) {
	nt := len(m.tensors)
	p := &plan{shapes: make([][]int, nt), bufs: make([][]float32, nt)}
	for i := range m.tensors {
		if m.tensors[i].cst {
			p.shapes[i] = m.tensors[i].shape
		}
	}
	for k, t := range m.inputs {
		if _, ok := numElems(inShapes[k]); !ok {
			return nil, fmt.Errorf("input %d: shape %v is too large", k, inShapes[k])
		}
		p.shapes[t] = inShapes[k]
	}
	for _, n := range m.nodes {
		s, err := inferShape(n, p.shapes, m.tensors)
		if err != nil {
			return nil, fmt.Errorf("operator %d (%v): %w", n.op, n.kind, err)
		}
		if n.residual >= 0 && !slices.Equal(p.shapes[n.residual], s) {
			return nil, fmt.Errorf("operator %d (%v): residual %v differs from output %v", n.op, n.kind, p.shapes[n.residual], s)
		}
		p.shapes[n.out] = s
		p.macs += macs(n, s)
	}

	// Storage: a RESHAPE output shares its input's storage (its root).
	root := make([]int, nt)
	for i := range root {
		root[i] = i
	}
	for _, n := range m.nodes {
		if n.kind == kReshape {
			root[n.out] = root[n.in[0]]
		}
	}
	const forever = math.MaxInt
	last := make([]int, nt)
	for i := range last {
		last[i] = -1
	}
	for i, n := range m.nodes {
		for _, t := range n.in {
			last[root[t]] = i
		}
		if n.residual >= 0 {
			last[root[n.residual]] = i
		}
	}
	// Inputs stay intact (a caller may fill them once and invoke many
	// times); outputs must survive Invoke.
	for _, t := range m.inputs {
		last[root[t]] = forever
	}
	for _, t := range m.outputs {
		last[root[t]] = forever
	}
	off := make([]int, nt)
	var a allocator
	size := func(t int) int {
		n, _ := numElems(p.shapes[t])
		return (n + align - 1) / align * align
	}
	for _, t := range m.inputs {
		off[t] = a.alloc(t, size(t))
	}
	for i, n := range m.nodes {
		if n.kind != kReshape {
			off[n.out] = a.alloc(n.out, size(n.out))
			last[n.out] = max(last[n.out], i)
		}
		free := func(t int) {
			if r := root[t]; last[r] == i {
				a.free(r)
				last[r] = -2 // freed
			}
		}
		for _, t := range n.in {
			free(t)
		}
		if n.residual >= 0 {
			free(n.residual)
		}
		free(n.out)
	}
	if a.top > maxArena {
		return nil, fmt.Errorf("activations need %d floats, more than %d", a.top, maxArena)
	}
	p.arena = make([]float32, a.top)
	buf := func(t int) []float32 {
		n, _ := numElems(p.shapes[t])
		o := off[root[t]]
		return p.arena[o : o+n : o+n]
	}
	for _, t := range m.inputs {
		p.bufs[t] = buf(t)
	}
	for _, n := range m.nodes {
		p.bufs[n.out] = buf(n.out)
	}
	aux := 0 // per-step tables (resize axes, per-image epilogues)
	for _, n := range m.nodes {
		switch n.kind {
		case kResize:
			aux += p.shapes[n.out][1] + p.shapes[n.out][2]
		case kDepthwise:
			aux += p.shapes[n.out][0]
		}
	}
	if aux > maxArena/16 {
		return nil, fmt.Errorf("the plan needs %d table entries", aux)
	}
	for _, n := range m.nodes {
		if n.kind == kReshape {
			continue
		}
		st, err := m.bind(n, p, threads)
		if err != nil {
			return nil, fmt.Errorf("operator %d (%v): %w", n.op, n.kind, err)
		}
		p.steps = append(p.steps, st)
	}
	return p, nil
}

// allocator places buffers first-fit between live blocks.
type allocator struct {
	live []block // sorted by offset
	top  int
}

type block struct{ t, off, size int }

func (a *allocator) alloc(t, size int) int {
	prev := 0
	for i, b := range a.live {
		if b.off-prev >= size {
			a.live = slices.Insert(a.live, i, block{t, prev, size})
			return prev
		}
		prev = b.off + b.size
	}
	a.live = append(a.live, block{t, prev, size})
	a.top = max(a.top, prev+size)
	return prev
}

func (a *allocator) free(t int) {
	for i, b := range a.live {
		if b.t == t {
			a.live = slices.Delete(a.live, i, i+1)
			return
		}
	}
}

// bind makes the step of node n on plan p.
func (m *Model) bind(n *node, p *plan, threads int) (planned, error) {
	xs := p.shapes[n.in[0]]
	os := p.shapes[n.out]
	x, out := p.bufs[n.in[0]], p.bufs[n.out]
	if x == nil {
		x = m.tensors[n.in[0]].f
	}
	ep := kern.Epilogue{Bias: n.bias, Act: n.act, Alpha: n.alpha}
	if n.residual >= 0 {
		ep.Residual = p.bufs[n.residual]
	}
	pl := planned{align: 1}
	var work int64
	switch n.kind {
	case kConv:
		_, padT, _ := convOut(xs[1], n.kh, n.sh, n.same, n.pad[0], n.pad[2])
		_, padL, _ := convOut(xs[2], n.kw, n.sw, n.same, n.pad[1], n.pad[3])
		s := &gemmStep{in: x, out: out, h: xs[1], w: xs[2], c: xs[3], oh: os[1], ow: os[2],
			kh: n.kh, kw: n.kw, sh: n.sh, sw: n.sw, padT: padT, padL: padL,
			k: n.kh * n.kw * n.cin, n: n.cout, m: os[0] * os[1] * os[2], p: n.packed, ep: ep}
		s.direct = n.kh == 1 && n.kw == 1 && n.sh == 1 && n.sw == 1 && padT == 0 && padL == 0 &&
			os[1] == xs[1] && os[2] == xs[2]
		s.padded = n.packed.N != n.cout
		s.tile = 256
		if !s.direct {
			s.tile = min(max(8192/s.k, 8)/8*8, 256)
			p.scratch = max(p.scratch, s.tile*s.k)
		}
		if s.padded {
			np := n.packed.N
			s.epPad = kern.Epilogue{Bias: padTo(n.bias, np), Act: n.act, Alpha: padTo(n.alpha, np)}
			if n.residual >= 0 {
				s.epPad.Act = kern.ActNone // applied after the residual, in copyOut
			}
			p.tmp = max(p.tmp, s.tile*np)
		}
		pl.s, pl.align, work = s, 8, macs(n, os)
	case kDepthwise:
		_, padT, _ := convOut(xs[1], n.kh, n.sh, n.same, n.pad[0], n.pad[2])
		_, padL, _ := convOut(xs[2], n.kw, n.sw, n.same, n.pad[1], n.pad[3])
		s := &dwStep{in: x, out: out, w: n.weights, batch: xs[0],
			p: kern.DWParams{H: xs[1], W: xs[2], C: xs[3], KH: n.kh, KW: n.kw, SH: n.sh, SW: n.sw,
				PadT: padT, PadL: padL, OH: os[1], OW: os[2]}}
		s.eps = make([]kern.Epilogue, xs[0])
		per := os[1] * os[2] * os[3]
		for i := range s.eps {
			s.eps[i] = ep
			if ep.Residual != nil {
				s.eps[i].Residual = ep.Residual[i*per : (i+1)*per]
			}
		}
		pl.s, work = s, macs(n, os)
	case kAdd, kSub, kMul:
		row := xs[len(xs)-1]
		if row == 0 {
			row = 1
		}
		if len(n.in) == 2 {
			pl.s = &binStep{a: x, b: p.bufs[n.in[1]], out: out, kind: n.kind, act: n.act, row: row}
		} else {
			mode, err := constMode(n.cstShape, len(n.cst), xs)
			if err != nil {
				return pl, err
			}
			s := &constStep{x: x, out: out, kind: n.kind, left: n.cstLeft, act: n.act, row: row}
			switch mode {
			case 1:
				s.c, s.scalar = n.cst[:1], true
			case 2:
				s.c = n.cst
			default:
				s.full = n.cst
			}
			pl.s = s
		}
		work = int64(len(out))
	case kRelu, kRelu6, kAbs, kPRelu:
		row := max(xs[len(xs)-1], 1)
		pl.s, work = &unaryStep{x: x, out: out, kind: n.kind, alpha: n.alpha, row: row}, int64(len(out))
	case kPad:
		s := &padStep{in: x, out: out}
		r := len(xs)
		for d := range 4 {
			s.ish[d], s.osh[d] = 1, 1
			if k := d - (4 - r); k >= 0 {
				s.ish[d], s.osh[d], s.before[d] = xs[k], os[k], n.paddings[k][0]
			}
		}
		pl.s, work = s, int64(len(out))
	case kMaxPool:
		_, padT, _ := convOut(xs[1], n.fh, n.sh, n.same, 0, 0)
		_, padL, _ := convOut(xs[2], n.fw, n.sw, n.same, 0, 0)
		pl.s = &poolStep{in: x, out: out, h: xs[1], w: xs[2], c: xs[3], oc: os[3], oh: os[1], ow: os[2],
			fh: n.fh, fw: n.fw, sh: n.sh, sw: n.sw, padT: padT, padL: padL, act: n.act}
		work = int64(len(out)) * int64(n.fh*n.fw)
	case kResize:
		s := &resizeStep{in: x, out: out, h: xs[1], w: xs[2], c: xs[3], oh: os[1], ow: os[2],
			res: ep.Residual, act: n.act}
		s.y0, s.y1, s.fy = bilinearAxis(xs[1], os[1], n.align, n.halfPixel)
		s.x0, s.x1, s.fx = bilinearAxis(xs[2], os[2], n.align, n.halfPixel)
		p.tmp = max(p.tmp, 2*os[2]*os[3])
		pl.s, work = s, int64(len(out))*4
	case kDepthToSpace:
		pl.s, work = &d2sStep{in: x, out: out, h: xs[1], w: xs[2], c: xs[3], b: n.block}, int64(len(out))
	case kConcat:
		s := &concatStep{out: out, act: n.act, outer: 1}
		for d := range n.axis {
			s.outer *= xs[d]
		}
		for _, t := range n.in {
			sh := p.shapes[t]
			inner := 1
			for _, d := range sh[n.axis:] {
				inner *= d
			}
			s.ins = append(s.ins, p.bufs[t])
			s.inner = append(s.inner, inner)
		}
		pl.s, work = s, int64(len(out))
	default:
		return pl, fmt.Errorf("no kernel")
	}
	pl.n = pl.s.units()
	pl.par = threads > 1 && work >= parThreshold && pl.n > 1
	// Chunks small enough to balance a late helper, large enough (≥ the
	// threshold's work) to keep the kernels efficient.
	pl.chunks = int(min(4, max(1, work/int64(threads)/parThreshold)))
	return pl, nil
}
