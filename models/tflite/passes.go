package tflite

import "facegate/models/tflite/internal/kern"

// minGemmN is the fewest output channels the GEMM kernels run at full
// speed; narrower convolutions are padded to it.
const minGemmN = 16

// Graph passes run once at load on a validated graph. Each keeps the graph
// equivalent: a fused node replaces the last node of its pattern (so every
// input it reads is ready there) and only swallows tensors that nothing else
// reads.

// uses counts the readers of each tensor; graph outputs count as readers.
type uses struct {
	n        []int
	producer []int // node index, or -1
}

func (g *graph) index() *uses {
	u := &uses{n: make([]int, len(g.tensors)), producer: make([]int, len(g.tensors))}
	for i := range u.producer {
		u.producer[i] = -1
	}
	for _, t := range g.outputs {
		u.n[t]++
	}
	for i, n := range g.nodes {
		if n.dead {
			continue
		}
		for _, t := range n.in {
			u.n[t]++
		}
		if n.residual >= 0 {
			u.n[n.residual]++
		}
		u.producer[n.out] = i
	}
	return u
}

// prod returns the live node producing t, if any.
func (g *graph) prod(u *uses, t int) *node {
	if p := u.producer[t]; p >= 0 && !g.nodes[p].dead {
		return g.nodes[p]
	}
	return nil
}

// only reports whether t has exactly one reader and is not a graph output
// (outputs count as readers, so one reader means it is not one).
func only(u *uses, t int) bool { return u.n[t] == 1 }

// optimize runs the passes in order (fuse false keeps the file's operators
// as they are, for tests) and packs the weights.
func (g *graph) optimize(fuse bool) {
	if fuse {
		g.fusePRelu()
		g.foldPads()
		g.fusePoolPads()
		g.fuseResiduals()
		g.fuseActivations()
	}
	live := g.nodes[:0]
	for _, n := range g.nodes {
		if !n.dead {
			live = append(live, n)
		}
	}
	g.nodes = live
	packed := map[int]*kern.Packed{} // by weights tensor: convolutions may share one
	for _, n := range g.nodes {
		if n.kind != kConv {
			continue
		}
		k, np := n.kh*n.kw*n.cin, max(n.cout, minGemmN)
		if p, ok := packed[n.wID]; ok && p.N == np && p.K == k {
			n.packed = p
			continue
		}
		w := n.weights[:n.cout*k]
		if np != n.cout {
			w = make([]float32, np*k) // zero rows for the padding channels
			copy(w, n.weights[:n.cout*k])
		}
		n.packed = kern.PackWeights(w, np, k)
		packed[n.wID] = n.packed
	}
}

// fusePRelu recognises relu(x) + c·(x − |x|), which is x for x ≥ 0 and 2c·x
// below, and replaces it by one PReLU node with slope 2c.
func (g *graph) fusePRelu() {
	u := g.index()
	slopes := map[int][]float32{} // by constant tensor: shared, not copied

	for _, add := range g.nodes {
		if add.dead || add.kind != kAdd || len(add.in) != 2 || add.act != kern.ActNone {
			continue
		}
		for side := range 2 {
			r, m := g.prod(u, add.in[side]), g.prod(u, add.in[1-side])
			if r == nil || m == nil || r.kind != kRelu || m.kind != kMul || m.act != kern.ActNone ||
				len(m.in) != 1 || !only(u, r.out) || !only(u, m.out) {
				continue
			}
			x := r.in[0]
			s := g.prod(u, m.in[0])
			if s == nil || s.kind != kSub || s.act != kern.ActNone || len(s.in) != 2 || s.in[0] != x || !only(u, s.out) {
				continue
			}
			a := g.prod(u, s.in[1])
			if a == nil || a.kind != kAbs || a.in[0] != x || !only(u, a.out) {
				continue
			}
			xs := g.tensors[x].shape
			mode, err := constMode(m.cstShape, len(m.cst), xs)
			if err != nil || mode == 3 {
				continue
			}
			c := xs[len(xs)-1]
			alpha := slopes[m.cstID]
			if len(alpha) != c {
				alpha = make([]float32, c)
				for k := range alpha {
					v := m.cst[0]
					if mode != 1 {
						v = m.cst[k]
					}
					alpha[k] = 2 * v
				}
				slopes[m.cstID] = alpha
			}
			*add = node{kind: kPRelu, op: add.op, in: []int{x}, out: add.out, residual: -1, alpha: alpha}
			r.dead, m.dead, s.dead, a.dead = true, true, true, true
			u.n[x] -= 2 // read by RELU, ABS and SUB before, by the PReLU now
			break
		}
	}
}

// foldPads turns a spatial zero PAD feeding VALID convolutions into their
// implicit padding.
func (g *graph) foldPads() {
	u := g.index()
	for _, n := range g.nodes {
		if n.dead || (n.kind != kConv && n.kind != kDepthwise) || n.same || n.pad != [4]int{} {
			continue
		}
		p := g.prod(u, n.in[0])
		if p == nil || p.kind != kPad || len(p.paddings) != 4 ||
			p.paddings[0] != [2]int{} || p.paddings[3] != [2]int{} {
			continue
		}
		n.pad = [4]int{p.paddings[1][0], p.paddings[2][0], p.paddings[1][1], p.paddings[2][1]}
		n.in[0] = p.in[0]
		u.n[p.out]--
		u.n[p.in[0]]++
		if u.n[p.out] == 0 {
			p.dead = true
			u.n[p.in[0]]--
		}
	}
}

// fusePoolPads lets a MAX_POOL_2D write the zero channels of a channel-only
// PAD that follows it (BlazeFace widens its shortcut this way), saving a
// copy of the pooled tensor.
func (g *graph) fusePoolPads() {
	u := g.index()
	for _, p := range g.nodes {
		if p.dead || p.kind != kPad || len(p.paddings) != 4 || p.paddings[3][0] != 0 || p.paddings[3][1] == 0 {
			continue
		}
		if p.paddings[0] != [2]int{} || p.paddings[1] != [2]int{} || p.paddings[2] != [2]int{} {
			continue
		}
		qi := u.producer[p.in[0]]
		q := g.prod(u, p.in[0])
		if q == nil || q.kind != kMaxPool || q.padC != 0 || !only(u, p.in[0]) {
			continue
		}
		q.padC = p.paddings[3][1]
		u.n[p.in[0]]--
		u.producer[q.out] = -1
		u.producer[p.out] = qi
		q.out = p.out
		p.dead = true
	}
}

// fuseResiduals folds ADD(conv(x), r) into the convolution's epilogue when
// the convolution's output feeds only the ADD (and likewise ADD(resize(x), r)).
func (g *graph) fuseResiduals() {
	u := g.index()
	for i, add := range g.nodes {
		if add.dead || add.kind != kAdd || len(add.in) != 2 || add.act == kern.ActPRelu {
			continue
		}
		best, side := -1, -1
		for k := range 2 {
			p := u.producer[add.in[k]]
			if p < 0 || p > i {
				continue
			}
			c := g.nodes[p]
			if c.dead || (c.kind != kConv && c.kind != kDepthwise && c.kind != kResize) || c.act != kern.ActNone ||
				c.residual >= 0 || !only(u, add.in[k]) || add.in[0] == add.in[1] {
				continue
			}
			if p > best {
				best, side = p, k
			}
		}
		if best < 0 {
			continue
		}
		c := g.nodes[best]
		fused := *c
		fused.in = append([]int(nil), c.in...)
		fused.out, fused.residual, fused.act = add.out, add.in[1-side], add.act
		u.n[add.in[side]]--
		u.producer[c.out] = -1
		*add = fused
		c.dead = true
	}
}

// fuseActivations moves a RELU, RELU6 or PReLU into the node producing its
// input (convolutions, elementwise ops, resize, concatenation, pooling)
// when nothing else reads it.
func (g *graph) fuseActivations() {
	u := g.index()
	for _, a := range g.nodes {
		if a.dead || (a.kind != kRelu && a.kind != kRelu6 && a.kind != kPRelu) {
			continue
		}
		pi := u.producer[a.in[0]]
		p := g.prod(u, a.in[0])
		if p == nil || p.act != kern.ActNone || !only(u, a.in[0]) {
			continue
		}
		switch p.kind {
		case kConv, kDepthwise:
		case kAdd, kSub, kMul, kResize, kConcat, kMaxPool:
			if a.kind == kPRelu {
				continue
			}
		default:
			continue
		}
		switch a.kind {
		case kRelu:
			p.act = kern.ActRelu
		case kRelu6:
			p.act = kern.ActRelu6
		default:
			p.act, p.alpha = kern.ActPRelu, a.alpha
		}
		u.n[a.in[0]]--
		u.producer[p.out] = -1
		u.producer[a.out] = pi
		p.out = a.out
		a.dead = true
	}
}
