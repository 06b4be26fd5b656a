package tflite

import (
	"fmt"
	"slices"
)

// convOut is one spatial dimension of a convolution or pooling output, and
// the zero padding before the first input element.
func convOut(in, k, s int, same bool, p0, p1 int) (out, before int, err error) {
	if same {
		out = (in + s - 1) / s
		total := max((out-1)*s+k-in, 0)
		return out, total / 2, nil
	}
	eff := in + p0 + p1
	if eff < k {
		return 0, 0, fmt.Errorf("input size %d (padded %d) is smaller than the kernel %d", in, eff, k)
	}
	return (eff-k)/s + 1, p0, nil
}

// reshapeTarget resolves a RESHAPE's target for input shape in. declared is
// the input's shape in the file: a target that starts with the file's batch
// follows the current batch instead (MobileFaceNet stores a constant [2,192]).
func reshapeTarget(n *node, in, declared []int) ([]int, error) {
	total, _ := numElems(in)
	t := slices.Clone(n.newShape)
	if len(t) > 0 && len(in) > 0 && len(declared) > 0 && declared[0] > 0 &&
		t[0] == declared[0] && in[0] != declared[0] {
		t[0] = in[0]
	}
	unknown, known := -1, 1
	for k, d := range t {
		switch {
		case d == -1 && unknown < 0:
			unknown = k
		case d < 1 || d > maxDim:
			return nil, fmt.Errorf("bad target shape %v", n.newShape)
		default:
			known *= d
			if known > maxElems {
				return nil, fmt.Errorf("bad target shape %v", n.newShape)
			}
		}
	}
	if unknown >= 0 {
		if total%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", in, n.newShape)
		}
		t[unknown] = total / known
	} else if known != total {
		return nil, fmt.Errorf("cannot reshape %v (%d elements) to %v", in, total, t)
	}
	return t, nil
}

// constMode says how an elementwise constant of n elements broadcasts over an
// activation of shape x: 1 a scalar, 2 per channel (last dimension), 3 the
// same shape.
func constMode(cshape []int, clen int, x []int) (int, error) {
	if len(x) == 0 {
		return 0, fmt.Errorf("scalar activation")
	}
	c := x[len(x)-1]
	switch {
	case clen == 1:
		return 1, nil
	case clen == c && len(cshape) <= len(x):
		ok := true
		for k := 0; k < len(cshape)-1; k++ {
			ok = ok && cshape[k] == 1
		}
		if ok {
			return 2, nil
		}
	}
	if slices.Equal(cshape, x) {
		return 3, nil
	}
	return 0, fmt.Errorf("unsupported broadcast of constant %v over %v", cshape, x)
}

// inferShape computes the output shape of n from the shapes of its inputs.
func inferShape(n *node, shapes [][]int, ts []tensor) ([]int, error) {
	x := shapes[n.in[0]]
	need4 := func() error {
		if len(x) != 4 {
			return fmt.Errorf("input must be 4-D NHWC, is %v", x)
		}
		return nil
	}
	var out []int
	switch n.kind {
	case kConv, kDepthwise:
		if err := need4(); err != nil {
			return nil, err
		}
		if x[3] != n.cin {
			return nil, fmt.Errorf("input has %d channels, weights want %d", x[3], n.cin)
		}
		oh, _, err := convOut(x[1], n.kh, n.sh, n.same, n.pad[0], n.pad[2])
		if err != nil {
			return nil, err
		}
		ow, _, err := convOut(x[2], n.kw, n.sw, n.same, n.pad[1], n.pad[3])
		if err != nil {
			return nil, err
		}
		out = []int{x[0], oh, ow, n.cout}
	case kMaxPool:
		if err := need4(); err != nil {
			return nil, err
		}
		oh, _, err := convOut(x[1], n.fh, n.sh, n.same, 0, 0)
		if err != nil {
			return nil, err
		}
		ow, _, err := convOut(x[2], n.fw, n.sw, n.same, 0, 0)
		if err != nil {
			return nil, err
		}
		out = []int{x[0], oh, ow, x[3] + n.padC}
	case kAdd, kSub, kMul:
		if len(n.in) == 2 {
			if !slices.Equal(x, shapes[n.in[1]]) {
				return nil, fmt.Errorf("unsupported broadcast of %v with %v", x, shapes[n.in[1]])
			}
		} else if _, err := constMode(n.cstShape, len(n.cst), x); err != nil {
			return nil, err
		}
		out = slices.Clone(x)
	case kRelu, kRelu6, kAbs:
		out = slices.Clone(x)
	case kPRelu:
		if len(x) == 0 || x[len(x)-1] != len(n.alpha) {
			return nil, fmt.Errorf("PReLU with %d slopes over %v", len(n.alpha), x)
		}
		out = slices.Clone(x)
	case kPad:
		if len(x) != len(n.paddings) {
			return nil, fmt.Errorf("paddings for rank %d, input %v", len(n.paddings), x)
		}
		if len(x) > 4 {
			return nil, fmt.Errorf("PAD of rank %d is not supported", len(x))
		}
		out = make([]int, len(x))
		for d := range x {
			out[d] = x[d] + n.paddings[d][0] + n.paddings[d][1]
		}
	case kResize:
		if err := need4(); err != nil {
			return nil, err
		}
		out = []int{x[0], n.outH, n.outW, x[3]}
	case kDepthToSpace:
		if err := need4(); err != nil {
			return nil, err
		}
		b := n.block
		if x[3]%(b*b) != 0 {
			return nil, fmt.Errorf("%d channels do not divide into blocks of %d×%d", x[3], b, b)
		}
		out = []int{x[0], x[1] * b, x[2] * b, x[3] / (b * b)}
	case kReshape:
		return reshapeTarget(n, x, ts[n.in[0]].shape)
	case kConcat:
		if n.axis >= len(x) {
			return nil, fmt.Errorf("axis %d out of range for %v", n.axis, x)
		}
		out = slices.Clone(x)
		for _, t := range n.in[1:] {
			s := shapes[t]
			if len(s) != len(x) {
				return nil, fmt.Errorf("concatenating %v with %v", x, s)
			}
			for d := range s {
				if d != n.axis && s[d] != x[d] {
					return nil, fmt.Errorf("concatenating %v with %v on axis %d", x, s, n.axis)
				}
			}
			out[n.axis] += s[n.axis]
		}
	default:
		return nil, fmt.Errorf("no shape rule for %v", n.kind)
	}
	if _, ok := numElems(out); !ok {
		return nil, fmt.Errorf("output shape %v is too large", out)
	}
	if slices.Contains(out, 0) {
		return nil, fmt.Errorf("empty output shape %v", out)
	}
	return out, nil
}

// macs counts the multiply-accumulates of a node with output shape out.
func macs(n *node, out []int) int64 {
	if len(out) != 4 {
		return 0
	}
	px := int64(out[0]) * int64(out[1]) * int64(out[2])
	switch n.kind {
	case kConv:
		return px * int64(n.cout) * int64(n.kh*n.kw*n.cin)
	case kDepthwise:
		return px * int64(n.cout) * int64(n.kh*n.kw)
	}
	return 0
}
