package tflite

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"facegate/models/tflite/internal/kern"
)

// Limits that keep a hostile file from asking for absurd work or memory.
const (
	maxRank     = 6
	maxElems    = 1 << 26 // per tensor
	maxDim      = 1 << 24
	maxKernel   = 1 << 12 // kernel, stride and block sizes
	maxPadding  = 1 << 12
	maxDenseMul = 4 // densified elements per byte of file, in total
)

// opKind is what a node computes.
type opKind uint8

const (
	kConv opKind = iota
	kDepthwise
	kAdd
	kSub
	kMul
	kRelu
	kRelu6
	kAbs
	kPRelu
	kPad
	kMaxPool
	kResize
	kDepthToSpace
	kReshape
	kConcat
	numKinds
)

var kindNames = [numKinds]string{"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "SUB", "MUL", "RELU",
	"RELU6", "ABS", "PRELU", "PAD", "MAX_POOL_2D", "RESIZE_BILINEAR", "DEPTH_TO_SPACE",
	"RESHAPE", "CONCATENATION"}

func (k opKind) String() string { return kindNames[k] }

// tensor is a tensor of the model after constant folding.
type tensor struct {
	name  string
	shape []int // as declared by the file
	typ   dtype
	cst   bool      // a constant (weights, shapes)
	f     []float32 // float constant values
	i     []int32   // int32 constant values
}

// node is one step of the graph: an operator, possibly with others fused in.
type node struct {
	kind  opKind
	op    int // index of the file's operator it came from (for errors)
	in    []int
	out   int
	act   kern.ActKind
	alpha []float32 // PReLU slopes per channel

	// CONV_2D and DEPTHWISE_CONV_2D.
	kh, kw, sh, sw int
	same           bool   // SAME padding; otherwise VALID with pad
	pad            [4]int // explicit zero padding top, left, bottom, right
	cin, cout      int
	weights        []float32 // conv: cout×(kh·kw·cin); depthwise: kh×kw×cin
	wID            int       // tensor holding the weights
	bias           []float32
	packed         *kern.Packed
	residual       int // tensor added before the activation, or -1

	// Elementwise ops with a constant operand.
	cst      []float32
	cstID    int // tensor holding cst
	cstShape []int
	cstLeft  bool // the constant is the left operand (matters for SUB)

	paddings   [][2]int // PAD
	fh, fw     int      // MAX_POOL_2D filter
	padC       int      // MAX_POOL_2D: zero channels appended (a fused channel PAD)
	outH, outW int      // RESIZE_BILINEAR
	align      bool
	halfPixel  bool
	block      int   // DEPTH_TO_SPACE
	newShape   []int // RESHAPE target as stored in the file
	axis       int   // CONCATENATION
	dead       bool  // removed by a graph pass
}

// graph is the model being built by Load.
type graph struct {
	raw      *rawModel
	tensors  []tensor
	nodes    []*node
	inputs   []int
	outputs  []int
	opCounts map[string]int
	dense    int // densified elements so far
}

// build validates the raw model and turns it into nodes, folding DEQUANTIZE
// and DENSIFY into constants.
func build(rm *rawModel, fileSize int) (*graph, error) {
	g := &graph{raw: rm, opCounts: map[string]int{}}
	var unsupported []string
	for _, o := range rm.ops {
		name := opName(o.code)
		if o.code == opCustom {
			name = "CUSTOM(" + o.custom + ")"
		}
		g.opCounts[name]++
		switch o.code {
		case opAdd, opConcat, opConv, opDepthwise, opDepthToSpace, opDequantize, opMaxPool,
			opMul, opRelu, opRelu6, opReshape, opResizeBilinear, opPad, opSub, opAbs, opDensify:
		default:
			if !slices.Contains(unsupported, name) {
				unsupported = append(unsupported, name)
			}
		}
	}
	if len(unsupported) > 0 {
		return nil, fmt.Errorf("unsupported operator %s", strings.Join(unsupported, ", "))
	}

	type decoded struct {
		buf int
		typ dtype
	}
	cache := map[decoded]tensor{}
	g.tensors = make([]tensor, len(rm.tensors))
	for i, rt := range rm.tensors {
		t := &g.tensors[i]
		t.name, t.typ = rt.name, rt.typ
		if len(rt.shape) > maxRank {
			return nil, fmt.Errorf("tensor %d %q: rank %d exceeds %d", i, rt.name, len(rt.shape), maxRank)
		}
		for _, d := range rt.shape {
			if d < 0 || d > maxDim {
				return nil, fmt.Errorf("tensor %d %q: bad dimension %d in shape %v", i, rt.name, d, rt.shape)
			}
		}
		n, ok := numElems(rt.shape)
		if !ok {
			return nil, fmt.Errorf("tensor %d %q: shape %v has too many elements", i, rt.name, rt.shape)
		}
		t.shape = rt.shape
		if rt.variable {
			return nil, fmt.Errorf("tensor %d %q: variable tensors are not supported", i, rt.name)
		}
		if rt.data == nil {
			if slices.Contains(rt.shape, 0) {
				return nil, fmt.Errorf("tensor %d %q: empty tensors are not supported (shape %v)", i, rt.name, rt.shape)
			}
			if rt.sparse != nil {
				return nil, fmt.Errorf("tensor %d %q: sparse tensor without data", i, rt.name)
			}
			continue
		}
		t.cst = true
		if rt.sparse != nil {
			continue // expanded by its DENSIFY op
		}
		sz := rt.typ.size()
		if sz == 0 {
			return nil, fmt.Errorf("tensor %d %q: unsupported tensor type %v", i, rt.name, rt.typ)
		}
		if len(rt.data) != n*sz {
			return nil, fmt.Errorf("tensor %d %q: buffer has %d bytes, shape %v of %v needs %d",
				i, rt.name, len(rt.data), rt.shape, rt.typ, n*sz)
		}
		// Tensors may share a buffer: decode each buffer once per type, so
		// that aliasing cannot multiply memory.
		key := decoded{rt.buf, rt.typ}
		if d, ok := cache[key]; ok {
			t.f, t.i = d.f, d.i
			continue
		}
		switch rt.typ {
		case tFloat32:
			t.f = make([]float32, n)
			for k := range t.f {
				t.f[k] = math.Float32frombits(binary.LittleEndian.Uint32(rt.data[4*k:]))
			}
		case tFloat16:
			t.f = make([]float32, n)
			for k := range t.f {
				t.f[k] = f16to32(binary.LittleEndian.Uint16(rt.data[2*k:]))
			}
		case tInt32:
			t.i = make([]int32, n)
			for k := range t.i {
				t.i[k] = int32(binary.LittleEndian.Uint32(rt.data[4*k:]))
			}
		}
		cache[key] = tensor{f: t.f, i: t.i}
	}

	ready := make([]bool, len(g.tensors))
	for i := range g.tensors {
		ready[i] = g.tensors[i].cst
	}
	checkIO := func(what string, ids []int) error {
		if len(ids) == 0 {
			return fmt.Errorf("the model has no %ss", what)
		}
		for _, t := range ids {
			if t < 0 || t >= len(g.tensors) {
				return fmt.Errorf("%s tensor %d out of range", what, t)
			}
		}
		return nil
	}
	if err := checkIO("input", rm.inputs); err != nil {
		return nil, err
	}
	if err := checkIO("output", rm.outputs); err != nil {
		return nil, err
	}
	for _, t := range rm.inputs {
		tt := &g.tensors[t]
		if tt.cst || tt.typ != tFloat32 || len(tt.shape) == 0 {
			return nil, fmt.Errorf("input %q must be a non-constant FLOAT32 tensor with a shape (is %v, shape %v)",
				tt.name, tt.typ, tt.shape)
		}
		if ready[t] {
			return nil, fmt.Errorf("input %q listed twice", tt.name)
		}
		ready[t] = true
	}
	g.inputs, g.outputs = rm.inputs, rm.outputs

	for i := range rm.ops {
		if err := g.addOp(i, ready, fileSize); err != nil {
			return nil, fmt.Errorf("operator %d (%s): %w", i, opName(rm.ops[i].code), err)
		}
	}
	for _, t := range g.outputs {
		tt := &g.tensors[t]
		if !ready[t] {
			return nil, fmt.Errorf("output %q is never computed", tt.name)
		}
		if tt.cst {
			return nil, fmt.Errorf("output %q is a constant", tt.name)
		}
	}
	// Every node's shape must follow from its inputs exactly as the file says.
	shapes := make([][]int, len(g.tensors))
	for i := range g.tensors {
		shapes[i] = g.tensors[i].shape
	}
	for _, n := range g.nodes {
		s, err := inferShape(n, shapes, g.tensors)
		if err != nil {
			return nil, fmt.Errorf("operator %d (%v): %w", n.op, n.kind, err)
		}
		if !slices.Equal(s, g.tensors[n.out].shape) {
			return nil, fmt.Errorf("operator %d (%v): output %q declared %v, computed %v",
				n.op, n.kind, g.tensors[n.out].name, g.tensors[n.out].shape, s)
		}
	}
	return g, nil
}

// numElems multiplies out a shape, reporting false past maxElems.
func numElems(shape []int) (int, bool) {
	n := 1
	for _, d := range shape {
		if d < 0 || d > maxDim {
			return 0, false
		}
		n *= d
		if n > maxElems {
			return 0, false
		}
	}
	return n, true
}

// options returns the operator's options table, which must be of type want
// when present (a missing table reads as all defaults).
func (o *rawOp) options(want uint8) (fbTable, error) {
	if !o.hasOpt {
		return fbTable{}, nil
	}
	if o.optType != want {
		return fbTable{}, fmt.Errorf("options of union type %d, want %d", o.optType, want)
	}
	return o.opt, nil
}

// fusedAct maps a fused activation function.
func fusedAct(v uint8) (kern.ActKind, error) {
	switch v {
	case 0:
		return kern.ActNone, nil
	case 1:
		return kern.ActRelu, nil
	case 3:
		return kern.ActRelu6, nil
	}
	names := map[uint8]string{2: "RELU_N1_TO_1", 4: "TANH", 5: "SIGN_BIT"}
	if s, ok := names[v]; ok {
		return 0, fmt.Errorf("unsupported fused activation %s", s)
	}
	return 0, fmt.Errorf("unknown fused activation %d", v)
}

// addOp validates operator i and appends its node (or folds it).
func (g *graph) addOp(i int, ready []bool, fileSize int) (err error) {
	o := &g.raw.ops[i]
	defer func() {
		// Options tables are read lazily; a bad one surfaces here.
		if r := recover(); r != nil {
			fe, ok := r.(formatError)
			if !ok {
				panic(r)
			}
			err = fe
		}
	}()
	nIn := map[int][2]int{ // min, max inputs
		opAdd: {2, 2}, opSub: {2, 2}, opMul: {2, 2}, opConv: {2, 3}, opDepthwise: {2, 3},
		opDepthToSpace: {1, 1}, opDequantize: {1, 1}, opDensify: {1, 1}, opMaxPool: {1, 1},
		opRelu: {1, 1}, opRelu6: {1, 1}, opAbs: {1, 1}, opReshape: {1, 2}, opResizeBilinear: {2, 2},
		opPad: {2, 2}, opConcat: {1, 1 << 10},
	}[o.code]
	if len(o.inputs) < nIn[0] || len(o.inputs) > nIn[1] {
		return fmt.Errorf("%d inputs, want %d to %d", len(o.inputs), nIn[0], nIn[1])
	}
	if len(o.outputs) != 1 {
		return fmt.Errorf("%d outputs, want 1", len(o.outputs))
	}
	for k, t := range o.inputs {
		if t == -1 && (o.code == opConv || o.code == opDepthwise) && k == 2 {
			continue // no bias
		}
		if t < 0 || t >= len(g.tensors) {
			return fmt.Errorf("input tensor %d out of range", t)
		}
		if !ready[t] {
			return fmt.Errorf("input %q is used before it is computed", g.tensors[t].name)
		}
	}
	out := o.outputs[0]
	if out < 0 || out >= len(g.tensors) {
		return fmt.Errorf("output tensor %d out of range", out)
	}
	if ready[out] {
		return fmt.Errorf("output %q is already defined", g.tensors[out].name)
	}
	ready[out] = true
	ot := &g.tensors[out]

	// Constant-producing ops.
	switch o.code {
	case opDequantize:
		in := &g.tensors[o.inputs[0]]
		if !in.cst || in.f == nil {
			if in.cst && g.raw.tensors[o.inputs[0]].sparse != nil {
				return fmt.Errorf("input %q is sparse (needs DENSIFY first)", in.name)
			}
			return fmt.Errorf("only constant FLOAT16 inputs are supported (input %q is %v)", in.name, in.typ)
		}
		if in.typ != tFloat16 && in.typ != tFloat32 {
			return fmt.Errorf("unsupported input type %v", in.typ)
		}
		if ot.typ != tFloat32 || !slices.Equal(ot.shape, in.shape) {
			return fmt.Errorf("output %q must be FLOAT32 of shape %v", ot.name, in.shape)
		}
		ot.cst, ot.f = true, in.f
		return nil
	case opDensify:
		in := &g.tensors[o.inputs[0]]
		rt := &g.raw.tensors[o.inputs[0]]
		if !in.cst || rt.sparse == nil {
			return fmt.Errorf("input %q is not a constant sparse tensor", in.name)
		}
		if in.typ != tFloat16 && in.typ != tFloat32 {
			return fmt.Errorf("unsupported sparse type %v", in.typ)
		}
		if ot.typ != in.typ || !slices.Equal(ot.shape, in.shape) {
			return fmt.Errorf("output %q must match input %q", ot.name, in.name)
		}
		n, _ := numElems(in.shape)
		g.dense += n
		if g.dense > maxDenseMul*fileSize+(1<<20) {
			return fmt.Errorf("sparse tensors expand to too many elements")
		}
		f, err := densify(rt, in.shape)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", in.name, err)
		}
		ot.cst, ot.f = true, f
		return nil
	}

	if ot.cst {
		return fmt.Errorf("output %q has constant data", ot.name)
	}
	if ot.typ != tFloat32 {
		return fmt.Errorf("output %q: unsupported tensor type %v", ot.name, ot.typ)
	}
	n := &node{op: i, out: out, residual: -1}
	act := func(v uint8) error {
		a, err := fusedAct(v)
		n.act = a
		return err
	}
	x := o.inputs[0]
	// activation returns an error unless tensor t is a float32 activation.
	activation := func(t int) error {
		tt := &g.tensors[t]
		if tt.cst {
			return fmt.Errorf("constant input %q where an activation is expected", tt.name)
		}
		if tt.typ != tFloat32 {
			return fmt.Errorf("input %q: unsupported tensor type %v", tt.name, tt.typ)
		}
		return nil
	}
	floatConst := func(t int) (*tensor, error) {
		tt := &g.tensors[t]
		if !tt.cst || tt.f == nil || (tt.typ != tFloat32 && tt.typ != tFloat16) {
			return nil, fmt.Errorf("input %q must be a constant FLOAT32 tensor", tt.name)
		}
		if tt.typ == tFloat16 {
			return nil, fmt.Errorf("input %q is FLOAT16 without DEQUANTIZE", tt.name)
		}
		return tt, nil
	}
	intConst := func(t int) (*tensor, error) {
		tt := &g.tensors[t]
		if !tt.cst || tt.typ != tInt32 || tt.i == nil {
			return nil, fmt.Errorf("input %q must be a constant INT32 tensor", tt.name)
		}
		return tt, nil
	}
	if err := activation(x); err != nil {
		// Elementwise ops may take the constant first.
		if !(o.code == opMul || o.code == opAdd || o.code == opSub) {
			return err
		}
	}

	switch o.code {
	case opConv, opDepthwise:
		w, err := floatConst(o.inputs[1])
		if err != nil {
			return err
		}
		if len(w.shape) != 4 {
			return fmt.Errorf("weights %q must have rank 4, have %v", w.name, w.shape)
		}
		var padding uint8
		var dilW, dilH int32
		if o.code == opConv {
			n.kind = kConv
			opt, err := o.options(optConv2D)
			if err != nil {
				return err
			}
			padding = opt.u8(0, 0)
			n.sw, n.sh = int(opt.i32(1, 0)), int(opt.i32(2, 0))
			if err := act(opt.u8(3, 0)); err != nil {
				return err
			}
			dilW, dilH = opt.i32(4, 1), opt.i32(5, 1)
			n.cout, n.kh, n.kw, n.cin = w.shape[0], w.shape[1], w.shape[2], w.shape[3]
		} else {
			n.kind = kDepthwise
			opt, err := o.options(optDepthwise)
			if err != nil {
				return err
			}
			padding = opt.u8(0, 0)
			n.sw, n.sh = int(opt.i32(1, 0)), int(opt.i32(2, 0))
			if err := act(opt.u8(4, 0)); err != nil {
				return err
			}
			dilW, dilH = opt.i32(5, 1), opt.i32(6, 1)
			if w.shape[0] != 1 {
				return fmt.Errorf("depthwise weights %q must be [1,KH,KW,C], are %v", w.name, w.shape)
			}
			n.kh, n.kw, n.cout = w.shape[1], w.shape[2], w.shape[3]
			n.cin = n.cout
		}
		if padding > 1 {
			return fmt.Errorf("unknown padding %d", padding)
		}
		n.same = padding == 0
		if dilW != 1 || dilH != 1 {
			return fmt.Errorf("unsupported dilation %dx%d", dilW, dilH)
		}
		for _, v := range []int{n.sw, n.sh, n.kh, n.kw} {
			if v < 1 || v > maxKernel {
				return fmt.Errorf("bad kernel size or stride (%dx%d, %dx%d)", n.kh, n.kw, n.sh, n.sw)
			}
		}
		if n.cout < 1 || n.cin < 1 {
			return fmt.Errorf("weights %q have an empty shape %v", w.name, w.shape)
		}
		n.weights, n.wID = w.f, o.inputs[1]
		if len(o.inputs) == 3 && o.inputs[2] >= 0 {
			b, err := floatConst(o.inputs[2])
			if err != nil {
				return err
			}
			if len(b.f) != n.cout {
				return fmt.Errorf("bias %q has %d values, want %d", b.name, len(b.f), n.cout)
			}
			n.bias = b.f
		}
		n.in = []int{x}
	case opAdd, opSub, opMul:
		n.kind = map[int]opKind{opAdd: kAdd, opSub: kSub, opMul: kMul}[o.code]
		var opt fbTable
		var err error
		switch o.code {
		case opAdd:
			opt, err = o.options(optAdd)
		case opSub:
			opt, err = o.options(optSub)
		default:
			opt, err = o.options(optMul)
		}
		if err != nil {
			return err
		}
		if err := act(opt.u8(0, 0)); err != nil {
			return err
		}
		a, b := o.inputs[0], o.inputs[1]
		ca, cb := g.tensors[a].cst, g.tensors[b].cst
		switch {
		case ca && cb:
			return fmt.Errorf("both inputs are constant")
		case !ca && !cb:
			if err := activation(a); err != nil {
				return err
			}
			if err := activation(b); err != nil {
				return err
			}
			n.in = []int{a, b}
		default:
			c, v := b, a
			if ca {
				c, v, n.cstLeft = a, b, true
			}
			if err := activation(v); err != nil {
				return err
			}
			ct, err := floatConst(c)
			if err != nil {
				return err
			}
			n.in, n.cst, n.cstShape, n.cstID = []int{v}, ct.f, ct.shape, c
		}
	case opRelu, opRelu6, opAbs:
		n.kind = map[int]opKind{opRelu: kRelu, opRelu6: kRelu6, opAbs: kAbs}[o.code]
		n.in = []int{x}
	case opPad:
		n.kind = kPad
		p, err := intConst(o.inputs[1])
		if err != nil {
			return err
		}
		r := len(g.tensors[x].shape)
		if len(p.shape) != 2 || p.shape[0] != r || p.shape[1] != 2 {
			return fmt.Errorf("paddings %q have shape %v, want [%d,2]", p.name, p.shape, r)
		}
		n.paddings = make([][2]int, r)
		for d := range n.paddings {
			for s := range 2 {
				v := int(p.i[2*d+s])
				if v < 0 || v > maxPadding {
					return fmt.Errorf("unsupported padding %d", v)
				}
				n.paddings[d][s] = v
			}
		}
		n.in = []int{x}
	case opMaxPool:
		n.kind = kMaxPool
		opt, err := o.options(optPool2D)
		if err != nil {
			return err
		}
		padding := opt.u8(0, 0)
		if padding > 1 {
			return fmt.Errorf("unknown padding %d", padding)
		}
		n.same = padding == 0
		n.sw, n.sh = int(opt.i32(1, 0)), int(opt.i32(2, 0))
		n.fw, n.fh = int(opt.i32(3, 0)), int(opt.i32(4, 0))
		if err := act(opt.u8(5, 0)); err != nil {
			return err
		}
		for _, v := range []int{n.sw, n.sh, n.fw, n.fh} {
			if v < 1 || v > maxKernel {
				return fmt.Errorf("bad filter size or stride (%dx%d, %dx%d)", n.fh, n.fw, n.sh, n.sw)
			}
		}
		n.in = []int{x}
	case opResizeBilinear:
		n.kind = kResize
		opt, err := o.options(optResizeBilinear)
		if err != nil {
			return err
		}
		n.align, n.halfPixel = opt.boolean(2), opt.boolean(3)
		if n.align && n.halfPixel {
			return fmt.Errorf("align_corners and half_pixel_centers are both set")
		}
		s, err := intConst(o.inputs[1])
		if err != nil {
			return err
		}
		if len(s.i) != 2 || s.i[0] < 1 || s.i[1] < 1 || s.i[0] > maxDim || s.i[1] > maxDim {
			return fmt.Errorf("bad size %v", s.i)
		}
		n.outH, n.outW = int(s.i[0]), int(s.i[1])
		n.in = []int{x}
	case opDepthToSpace:
		n.kind = kDepthToSpace
		opt, err := o.options(optDepthToSpace)
		if err != nil {
			return err
		}
		n.block = int(opt.i32(0, 0))
		if n.block < 1 || n.block > maxKernel {
			return fmt.Errorf("bad block size %d", n.block)
		}
		n.in = []int{x}
	case opReshape:
		n.kind = kReshape
		if len(o.inputs) == 2 {
			s, err := intConst(o.inputs[1])
			if err != nil {
				return err
			}
			if len(s.shape) != 1 {
				return fmt.Errorf("shape tensor %q must be 1-D", s.name)
			}
			for _, v := range s.i {
				n.newShape = append(n.newShape, int(v))
			}
		} else {
			opt, err := o.options(optReshape)
			if err != nil {
				return err
			}
			if !opt.has(0) {
				return fmt.Errorf("no target shape")
			}
			n.newShape = opt.vec(0, 4).ints()
		}
		if len(n.newShape) > maxRank {
			return fmt.Errorf("target rank %d exceeds %d", len(n.newShape), maxRank)
		}
		n.in = []int{x}
	case opConcat:
		n.kind = kConcat
		opt, err := o.options(optConcat)
		if err != nil {
			return err
		}
		n.axis = int(opt.i32(0, 0))
		if err := act(opt.u8(1, 0)); err != nil {
			return err
		}
		for _, t := range o.inputs {
			if err := activation(t); err != nil {
				return err
			}
		}
		r := len(g.tensors[x].shape)
		if n.axis < 0 {
			n.axis += r
		}
		if n.axis < 0 || n.axis >= r {
			return fmt.Errorf("axis %d out of range for rank %d", n.axis, r)
		}
		n.in = slices.Clone(o.inputs)
	}
	g.nodes = append(g.nodes, n)
	return nil
}

// f16to32 converts an IEEE 754 half-precision value exactly.
func f16to32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch exp {
	case 0:
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	case 31:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
}

// densify expands a sparse constant (TFLite's compressed layout without
// block maps) into a dense array in row-major order.
func densify(rt *rawTensor, shape []int) ([]float32, error) {
	sp := rt.sparse
	rank := len(shape)
	if len(sp.blockMap) != 0 || len(sp.order) != rank || len(sp.dims) != rank {
		return nil, fmt.Errorf("unsupported sparsity (block map %v, traversal order %v, %d dimensions, rank %d)",
			sp.blockMap, sp.order, len(sp.dims), rank)
	}
	seen := make([]bool, rank)
	for _, d := range sp.order {
		if d < 0 || d >= rank || seen[d] {
			return nil, fmt.Errorf("bad traversal order %v", sp.order)
		}
		seen[d] = true
	}
	sz := rt.typ.size()
	nv := len(rt.data) / sz
	if len(rt.data)%sz != 0 {
		return nil, fmt.Errorf("value buffer of %d bytes is not a whole number of %v", len(rt.data), rt.typ)
	}
	n, _ := numElems(shape)
	out := make([]float32, n)
	strides := make([]int, rank)
	s := 1
	for d := rank - 1; d >= 0; d-- {
		strides[d] = s
		s *= shape[d]
	}
	value := func(k int) float32 {
		if rt.typ == tFloat16 {
			return f16to32(binary.LittleEndian.Uint16(rt.data[2*k:]))
		}
		return math.Float32frombits(binary.LittleEndian.Uint32(rt.data[4*k:]))
	}
	used := 0
	steps, maxSteps := 0, (rank+1)*(n+nv)+16
	// walk visits level l of the traversal; pos is the position among the
	// segments of this level, off the dense offset reached so far.
	var walk func(l, pos, off int) error
	walk = func(l, pos, off int) error {
		if steps++; steps > maxSteps {
			return fmt.Errorf("sparse structure visits too many positions")
		}
		if l == rank {
			if used >= nv {
				return fmt.Errorf("more non-zeros than the %d stored values", nv)
			}
			out[off] = value(used)
			used++
			return nil
		}
		d := sp.order[l]
		dm := &sp.dims[l]
		if !dm.sparse {
			if dm.denseSize != shape[d] {
				return fmt.Errorf("dense dimension %d has size %d, shape says %d", l, dm.denseSize, shape[d])
			}
			for k := range dm.denseSize {
				if err := walk(l+1, pos*dm.denseSize+k, off+k*strides[d]); err != nil {
					return err
				}
			}
			return nil
		}
		if pos+1 >= len(dm.segments) {
			return fmt.Errorf("segment %d out of range (%d segments)", pos, len(dm.segments))
		}
		lo, hi := dm.segments[pos], dm.segments[pos+1]
		if lo < 0 || hi < lo || hi > len(dm.indices) {
			return fmt.Errorf("bad segment [%d,%d) of %d indices", lo, hi, len(dm.indices))
		}
		for k := lo; k < hi; k++ {
			c := dm.indices[k]
			if c < 0 || c >= shape[d] {
				return fmt.Errorf("index %d out of range for dimension of size %d", c, shape[d])
			}
			if err := walk(l+1, k, off+c*strides[d]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(0, 0, 0); err != nil {
		return nil, err
	}
	if used != nv {
		return nil, fmt.Errorf("%d stored values, %d used", nv, used)
	}
	return out, nil
}
