package tflite

import (
	"bytes"
	"fmt"
)

// This file maps the TFLite schema (schema.fbs, version 3) onto the
// flatbuffer reader: only the tables and fields the runtime uses.

// dtype is a TFLite TensorType.
type dtype uint8

const (
	tFloat32 dtype = 0
	tFloat16 dtype = 1
	tInt32   dtype = 2
)

var dtypeNames = [...]string{"FLOAT32", "FLOAT16", "INT32", "UINT8", "INT64", "STRING", "BOOL",
	"INT16", "COMPLEX64", "INT8", "FLOAT64", "COMPLEX128", "UINT64", "RESOURCE", "VARIANT",
	"UINT32", "UINT16", "INT4", "BFLOAT16"}

func (t dtype) String() string {
	if int(t) < len(dtypeNames) {
		return dtypeNames[t]
	}
	return fmt.Sprintf("TYPE_%d", t)
}

// size is the element size in bytes of the types the runtime reads.
func (t dtype) size() int {
	switch t {
	case tFloat32, tInt32:
		return 4
	case tFloat16:
		return 2
	}
	return 0
}

// rawTensor is a tensor as the file declares it.
type rawTensor struct {
	name     string
	shape    []int
	typ      dtype
	data     []byte // contents of its buffer; nil when it has none
	buf      int    // buffer index
	sparse   *sparsity
	variable bool
}

// sparsity is a tensor's SparsityParameters.
type sparsity struct {
	order    []int // traversal order
	blockMap []int
	dims     []dimMeta
}

// dimMeta is one DimensionMetadata.
type dimMeta struct {
	sparse    bool
	denseSize int
	segments  []int
	indices   []int
}

// rawOp is an operator as the file declares it.
type rawOp struct {
	code    int // max(builtin_code, deprecated_builtin_code)
	custom  string
	version int
	inputs  []int // -1 marks an omitted optional input
	outputs []int
	optType uint8
	opt     fbTable
	hasOpt  bool
}

// rawModel is the parsed file.
type rawModel struct {
	desc    string
	tensors []rawTensor
	ops     []rawOp
	inputs  []int
	outputs []int
}

// Structural limits: far above any real model, low enough that a hostile
// file cannot make parsing allocate much more than its own size.
const (
	maxTensors = 1 << 16
	maxOps     = 1 << 16
	maxBuffers = 1 << 17
	maxCodes   = 1 << 12
	maxIO      = 1 << 10 // inputs or outputs of a graph or an operator
)

// bounded returns the int32 vector as ints after checking its length.
func bounded(v fbVec, limit int, what string) []int {
	if v.n > limit {
		failf("%s: %d entries, at most %d supported", what, v.n, limit)
	}
	return v.ints()
}

// parse reads the flatbuffer; it panics with formatError on bad data.
func parse(data []byte) *rawModel {
	if len(data) < 8 {
		failf("file too short (%d bytes)", len(data))
	}
	if !bytes.Equal(data[4:8], []byte("TFL3")) {
		failf("not a TFLite file (identifier %q, want \"TFL3\")", data[4:8])
	}
	b := fbuf(data)
	root := b.table(b.deref(0))
	if v := root.u32(0, 0); v != 3 {
		failf("unsupported schema version %d (want 3)", v)
	}
	rm := &rawModel{desc: root.str(3)}

	// Buffers.
	bv := root.vec(4, 4)
	if bv.n > maxBuffers {
		failf("%d buffers, at most %d supported", bv.n, maxBuffers)
	}
	buffers := make([][]byte, bv.n)
	for i := range buffers {
		bt := bv.table(i)
		if off := bt.u64(1, 0); off > 1 {
			failf("buffer %d: data outside the flatbuffer (offset %d) is not supported", i, off)
		}
		if d := bt.vec(0, 1); d.n > 0 {
			buffers[i] = d.bytes()
		}
	}

	// Operator codes.
	cv := root.vec(1, 4)
	if cv.n > maxCodes {
		failf("%d operator codes, at most %d supported", cv.n, maxCodes)
	}
	type opcode struct {
		code    int
		custom  string
		version int
	}
	codes := make([]opcode, cv.n)
	for i := range codes {
		ct := cv.table(i)
		dep := int(int8(ct.u8(0, 0)))
		bc := int(ct.i32(3, 0))
		codes[i] = opcode{code: max(dep, bc), custom: ct.str(1), version: int(ct.i32(2, 1))}
	}

	sv := root.vec(2, 4)
	if sv.n != 1 {
		failf("the model has %d subgraphs; only single-subgraph models are supported", sv.n)
	}
	sg := sv.table(0)

	tv := sg.vec(0, 4)
	if tv.n > maxTensors {
		failf("%d tensors, at most %d supported", tv.n, maxTensors)
	}
	rm.tensors = make([]rawTensor, tv.n)
	budget := len(data) + 1<<16 // sparse index entries the file may hold
	for i := range rm.tensors {
		tt := tv.table(i)
		t := &rm.tensors[i]
		t.shape = bounded(tt.vec(0, 4), maxRank, fmt.Sprintf("tensor %d shape", i))
		t.typ = dtype(tt.u8(1, 0))
		bi := int64(tt.u32(2, 0))
		if bi >= int64(len(buffers)) {
			failf("tensor %d: buffer %d out of range (%d buffers)", i, bi, len(buffers))
		}
		t.data, t.buf = buffers[bi], int(bi)
		t.name = tt.str(3)
		t.variable = tt.boolean(5)
		if st, ok := tt.sub(6); ok {
			t.sparse = parseSparsity(st, i, &budget)
		}
	}

	rm.inputs = bounded(sg.vec(1, 4), maxIO, "graph inputs")
	rm.outputs = bounded(sg.vec(2, 4), maxIO, "graph outputs")

	ov := sg.vec(3, 4)
	if ov.n > maxOps {
		failf("%d operators, at most %d supported", ov.n, maxOps)
	}
	rm.ops = make([]rawOp, ov.n)
	for i := range rm.ops {
		ot := ov.table(i)
		ci := int64(ot.u32(0, 0))
		if ci >= int64(len(codes)) {
			failf("operator %d: opcode index %d out of range (%d codes)", i, ci, len(codes))
		}
		o := &rm.ops[i]
		o.code, o.custom, o.version = codes[ci].code, codes[ci].custom, codes[ci].version
		o.inputs = bounded(ot.vec(1, 4), maxIO, fmt.Sprintf("operator %d inputs", i))
		o.outputs = bounded(ot.vec(2, 4), maxIO, fmt.Sprintf("operator %d outputs", i))
		o.optType = ot.u8(3, 0)
		o.opt, o.hasOpt = ot.sub(4)
	}
	return rm
}

func parseSparsity(st fbTable, ti int, budget *int) *sparsity {
	what := fmt.Sprintf("tensor %d sparsity", ti)
	sp := &sparsity{order: bounded(st.vec(0, 4), 2*maxRank, what), blockMap: bounded(st.vec(1, 4), 2*maxRank, what)}
	dv := st.vec(2, 4)
	if dv.n > 2*maxRank {
		failf("%s: %d dimensions", what, dv.n)
	}
	sp.dims = make([]dimMeta, dv.n)
	for k := range sp.dims {
		dt := dv.table(k)
		d := &sp.dims[k]
		switch f := dt.u8(0, 0); f {
		case 0:
			d.denseSize = int(dt.i32(1, 0))
		case 1:
			d.sparse = true
			d.segments = indexVector(dt, 2, ti, budget)
			d.indices = indexVector(dt, 4, ti, budget)
		default:
			failf("tensor %d: unknown sparse dimension format %d", ti, f)
		}
	}
	return sp
}

// indexVector reads the SparseIndexVector union whose type is field i and
// whose value is field i+1.
func indexVector(dt fbTable, i int, ti int, budget *int) []int {
	typ := dt.u8(i, 0)
	vt, ok := dt.sub(i + 1)
	if !ok {
		failf("tensor %d: sparse index vector missing", ti)
	}
	var v fbVec
	switch typ {
	case 1:
		v = vt.vec(0, 4)
	case 2:
		v = vt.vec(0, 2)
	case 3:
		v = vt.vec(0, 1)
	default:
		failf("tensor %d: unknown sparse index vector type %d", ti, typ)
	}
	if *budget -= v.n; *budget < 0 {
		failf("tensor %d: sparse index vectors larger than the file", ti)
	}
	out := make([]int, v.n)
	for k := range out {
		p := v.pos + int64(k)*v.w
		switch v.w {
		case 4:
			out[k] = int(int32(v.b.u32(p)))
		case 2:
			out[k] = int(v.b.u16(p))
		default:
			out[k] = int(v.b.u8(p))
		}
	}
	return out
}

// Builtin operator codes the runtime knows by name.
const (
	opAdd            = 0
	opConcat         = 2
	opConv           = 3
	opDepthwise      = 4
	opDepthToSpace   = 5
	opDequantize     = 6
	opMaxPool        = 17
	opMul            = 18
	opRelu           = 19
	opRelu6          = 21
	opReshape        = 22
	opResizeBilinear = 23
	opCustom         = 32
	opPad            = 34
	opSub            = 41
	opAbs            = 101
	opDensify        = 124
)

// builtinNames are the BuiltinOperator enum names, indexed by code.
var builtinNames = [...]string{
	"ADD", "AVERAGE_POOL_2D", "CONCATENATION", "CONV_2D", "DEPTHWISE_CONV_2D",
	"DEPTH_TO_SPACE", "DEQUANTIZE", "EMBEDDING_LOOKUP", "FLOOR", "FULLY_CONNECTED",
	"HASHTABLE_LOOKUP", "L2_NORMALIZATION", "L2_POOL_2D", "LOCAL_RESPONSE_NORMALIZATION",
	"LOGISTIC", "LSH_PROJECTION", "LSTM", "MAX_POOL_2D", "MUL", "RELU", "RELU_N1_TO_1",
	"RELU6", "RESHAPE", "RESIZE_BILINEAR", "RNN", "SOFTMAX", "SPACE_TO_DEPTH", "SVDF",
	"TANH", "CONCAT_EMBEDDINGS", "SKIP_GRAM", "CALL", "CUSTOM", "EMBEDDING_LOOKUP_SPARSE",
	"PAD", "UNIDIRECTIONAL_SEQUENCE_RNN", "GATHER", "BATCH_TO_SPACE_ND",
	"SPACE_TO_BATCH_ND", "TRANSPOSE", "MEAN", "SUB", "DIV", "SQUEEZE",
	"UNIDIRECTIONAL_SEQUENCE_LSTM", "STRIDED_SLICE", "BIDIRECTIONAL_SEQUENCE_RNN", "EXP",
	"TOPK_V2", "SPLIT", "LOG_SOFTMAX", "DELEGATE", "BIDIRECTIONAL_SEQUENCE_LSTM", "CAST",
	"PRELU", "MAXIMUM", "ARG_MAX", "MINIMUM", "LESS", "NEG", "PADV2", "GREATER",
	"GREATER_EQUAL", "LESS_EQUAL", "SELECT", "SLICE", "SIN", "TRANSPOSE_CONV",
	"SPARSE_TO_DENSE", "TILE", "EXPAND_DIMS", "EQUAL", "NOT_EQUAL", "LOG", "SUM", "SQRT",
	"RSQRT", "SHAPE", "POW", "ARG_MIN", "FAKE_QUANT", "REDUCE_PROD", "REDUCE_MAX", "PACK",
	"LOGICAL_OR", "ONE_HOT", "LOGICAL_AND", "LOGICAL_NOT", "UNPACK", "REDUCE_MIN",
	"FLOOR_DIV", "REDUCE_ANY", "SQUARE", "ZEROS_LIKE", "FILL", "FLOOR_MOD", "RANGE",
	"RESIZE_NEAREST_NEIGHBOR", "LEAKY_RELU", "SQUARED_DIFFERENCE", "MIRROR_PAD", "ABS",
	"SPLIT_V", "UNIQUE", "CEIL", "REVERSE_V2", "ADD_N", "GATHER_ND", "COS", "WHERE", "RANK",
	"ELU", "REVERSE_SEQUENCE", "MATRIX_DIAG", "QUANTIZE", "MATRIX_SET_DIAG", "ROUND",
	"HARD_SWISH", "IF", "WHILE", "NON_MAX_SUPPRESSION_V4", "NON_MAX_SUPPRESSION_V5",
	"SCATTER_ND", "SELECT_V2", "DENSIFY", "SEGMENT_SUM", "BATCH_MATMUL",
	"PLACEHOLDER_FOR_GREATER_OP_CODES", "CUMSUM", "CALL_ONCE", "BROADCAST_TO", "RFFT2D",
	"CONV_3D", "IMAG", "REAL", "COMPLEX_ABS", "HASHTABLE", "HASHTABLE_FIND",
	"HASHTABLE_IMPORT", "HASHTABLE_SIZE", "REDUCE_ALL", "CONV_3D_TRANSPOSE", "VAR_HANDLE",
	"READ_VARIABLE", "ASSIGN_VARIABLE", "BROADCAST_ARGS", "RANDOM_STANDARD_NORMAL",
	"BUCKETIZE", "RANDOM_UNIFORM", "MULTINOMIAL", "GELU", "DYNAMIC_UPDATE_SLICE",
	"RELU_0_TO_1", "UNSORTED_SEGMENT_PROD", "UNSORTED_SEGMENT_MAX", "UNSORTED_SEGMENT_SUM",
	"ATAN2", "UNSORTED_SEGMENT_MIN", "SIGN",
}

// opName names a builtin operator code.
func opName(code int) string {
	if code >= 0 && code < len(builtinNames) {
		return builtinNames[code]
	}
	return fmt.Sprintf("BUILTIN_%d", code)
}

// BuiltinOptions union member numbers for the operators the runtime runs.
const (
	optConv2D         = 1
	optDepthwise      = 2
	optPool2D         = 5
	optConcat         = 10
	optAdd            = 11
	optResizeBilinear = 15
	optReshape        = 17
	optMul            = 21
	optPad            = 22
	optSub            = 28
	optDequantize     = 38
	optAbs            = 78
	optDepthToSpace   = 94
	optDensify        = 99
)
