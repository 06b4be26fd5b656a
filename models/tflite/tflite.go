// Package tflite runs TensorFlow Lite float models in pure Go: it reads the
// flatbuffer itself, validates it, folds and fuses the graph once at load,
// plans tensor memory so that inference allocates nothing, and runs the hot
// loops on the kernels of internal/kern.
//
// Operators: CONV_2D, DEPTHWISE_CONV_2D, ADD, SUB, MUL (same shape, or a
// constant scalar, per-channel or same-shape operand), RELU, RELU6, ABS,
// PAD, MAX_POOL_2D, RESIZE_BILINEAR, DEPTH_TO_SPACE, RESHAPE,
// CONCATENATION, and DEQUANTIZE / DENSIFY of constants (float16, sparse),
// which are resolved at load. Anything else is refused by name.
//
// Load-time passes: PReLU written as relu(x) + c·(x − |x|) becomes one
// PReLU step; a spatial PAD before a VALID convolution becomes implicit
// padding; a channel PAD after MAX_POOL_2D is written by the pool; ADD of a
// convolution's (or resize's) output is fused into its epilogue with the
// following RELU; activations join their producer. The planner infers every
// shape from the input shapes (a RESHAPE that keeps the file's batch follows
// the current one) and places tensors in one arena by liveness.
//
// A Model is immutable and may be shared; an Interpreter holds the buffers
// of one inference at a time and is not safe for concurrent use.
package tflite

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"facegate/models/tflite/internal/kern"
)

// Model is a loaded, validated and optimised model.
type Model struct {
	tensors []tensor
	nodes   []*node
	inputs  []int
	outputs []int
	stats   Stats
}

// TensorInfo names a model input or output and gives its shape.
type TensorInfo struct {
	Name  string
	Shape []int
}

// Stats describes a model for inspection.
type Stats struct {
	Description string         // the file's description string
	Ops         map[string]int // operators in the file, by name
	Steps       map[string]int // steps run after the graph passes, by fused kind
	MACs        int64          // multiply-accumulates at the file's input shapes
	Params      int64          // float parameters the steps use (weights, biases, slopes)
}

// Load parses and validates a .tflite file, folds DEQUANTIZE and DENSIFY
// into constants, fuses activations, PReLU, padding and residual additions
// into the convolutions, and packs the weights. It returns an error, never
// panics, on a malformed file.
func Load(data []byte) (*Model, error) { return load(data, true) }

// load is Load with the fusing passes optional.
func load(data []byte, fuse bool) (m *Model, err error) {
	defer func() {
		if r := recover(); r != nil {
			fe, ok := r.(formatError)
			if !ok {
				panic(r)
			}
			m, err = nil, fmt.Errorf("tflite: malformed model: %w", fe)
		}
	}()
	rm := parse(data)
	g, err := build(rm, len(data))
	if err != nil {
		return nil, fmt.Errorf("tflite: %w", err)
	}
	g.optimize(fuse)
	m = &Model{tensors: g.tensors, nodes: g.nodes, inputs: g.inputs, outputs: g.outputs}
	m.stats = Stats{Description: rm.desc, Ops: g.opCounts, Steps: map[string]int{}}
	for _, n := range m.nodes {
		m.stats.Params += int64(len(n.weights) + len(n.bias) + len(n.cst) + len(n.alpha))
		m.stats.MACs += macs(n, m.tensors[n.out].shape)
		m.stats.Steps[n.label()]++
	}
	return m, nil
}

// label names a node with what was fused into it.
func (n *node) label() string {
	s := n.kind.String()
	if n.pad != [4]int{} || n.padC != 0 {
		s += "+PAD"
	}
	if n.residual >= 0 {
		s += "+ADD"
	}
	switch n.act {
	case kern.ActRelu:
		s += "+RELU"
	case kern.ActRelu6:
		s += "+RELU6"
	case kern.ActPRelu:
		s += "+PRELU"
	}
	return s
}

func (m *Model) info(ids []int) []TensorInfo {
	out := make([]TensorInfo, len(ids))
	for i, t := range ids {
		out[i] = TensorInfo{Name: m.tensors[t].name, Shape: slices.Clone(m.tensors[t].shape)}
	}
	return out
}

// Inputs describes the model's inputs at the shapes stored in the file.
func (m *Model) Inputs() []TensorInfo { return m.info(m.inputs) }

// Outputs describes the model's outputs at the shapes stored in the file.
func (m *Model) Outputs() []TensorInfo { return m.info(m.outputs) }

// Stats returns operator counts and sizes.
func (m *Model) Stats() Stats {
	s := m.stats
	s.Ops, s.Steps = clone(s.Ops), clone(s.Steps)
	return s
}

func clone(m map[string]int) map[string]int {
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// countsString summarises counts as "NAME×n, ...", most frequent first.
func countsString(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// OpsString lists the file's operators, most frequent first.
func (s Stats) OpsString() string { return countsString(s.Ops) }

// StepsString lists the executed steps, most frequent first.
func (s Stats) StepsString() string { return countsString(s.Steps) }

// Options configures an Interpreter.
type Options struct {
	Threads int // worker threads; 0 or 1 runs single-threaded
}

// Interpreter runs a Model. It is not safe for concurrent use.
type Interpreter struct {
	m       *Model
	threads int
	in      [][]int // current input shapes
	p       *plan
	workers []worker
	pool    *pool
	cleanup runtime.Cleanup // stops the helpers of an interpreter dropped without Close
	once    sync.Once
	closed  bool
}

// ErrClosed is returned by Invoke after Close.
var ErrClosed = errors.New("tflite: interpreter closed")

// NewInterpreter plans memory for the model's own input shapes and starts
// Threads−1 helper goroutines, stopped by Close.
func NewInterpreter(m *Model, opt Options) (*Interpreter, error) {
	t := max(opt.Threads, 1)
	if t > 256 {
		return nil, fmt.Errorf("tflite: %d threads is too many", t)
	}
	ip := &Interpreter{m: m, threads: t}
	for _, id := range m.inputs {
		ip.in = append(ip.in, slices.Clone(m.tensors[id].shape))
	}
	p, err := m.makePlan(ip.in, t)
	if err != nil {
		return nil, fmt.Errorf("tflite: %w", err)
	}
	ip.setPlan(p)
	if t > 1 {
		ip.pool = newPool(t - 1)
		ip.cleanup = runtime.AddCleanup(ip, (*pool).close, ip.pool)
	}
	return ip, nil
}

func (ip *Interpreter) setPlan(p *plan) {
	ip.p = p
	if ip.workers == nil {
		ip.workers = make([]worker, ip.threads)
	}
	for i := range ip.workers {
		w := &ip.workers[i]
		if len(w.col) < p.scratch {
			w.col = make([]float32, p.scratch)
		}
		if len(w.tmp) < p.tmp {
			w.tmp = make([]float32, p.tmp)
		}
	}
}

// ResizeInput changes input i's shape and replans every shape and buffer.
// On error nothing changes. Input contents are not kept.
func (ip *Interpreter) ResizeInput(i int, shape []int) error {
	if i < 0 || i >= len(ip.in) {
		return fmt.Errorf("tflite: no input %d", i)
	}
	if len(shape) != len(ip.in[i]) {
		return fmt.Errorf("tflite: input %d has rank %d, not %d", i, len(ip.in[i]), len(shape))
	}
	for _, d := range shape {
		if d < 1 {
			return fmt.Errorf("tflite: bad input shape %v", shape)
		}
	}
	in := slices.Clone(ip.in)
	in[i] = slices.Clone(shape)
	p, err := ip.m.makePlan(in, ip.threads)
	if err != nil {
		return fmt.Errorf("tflite: input shape %v: %w", shape, err)
	}
	ip.in = in
	ip.setPlan(p)
	return nil
}

// Input returns input i's buffer (NHWC float32), to fill before Invoke.
func (ip *Interpreter) Input(i int) []float32 { return ip.p.bufs[ip.m.inputs[i]] }

// Output returns output i's buffer, valid until the next Invoke.
func (ip *Interpreter) Output(i int) []float32 { return ip.p.bufs[ip.m.outputs[i]] }

// InputShape returns input i's current shape.
func (ip *Interpreter) InputShape(i int) []int {
	return slices.Clone(ip.p.shapes[ip.m.inputs[i]])
}

// OutputShape returns output i's current shape.
func (ip *Interpreter) OutputShape(i int) []int {
	return slices.Clone(ip.p.shapes[ip.m.outputs[i]])
}

// MACs returns the multiply-accumulates of one Invoke at the current shapes.
func (ip *Interpreter) MACs() int64 { return ip.p.macs }

// Invoke runs the model on the current inputs. It allocates nothing.
func (ip *Interpreter) Invoke() error {
	if ip.closed {
		return ErrClosed
	}
	for i := range ip.p.steps {
		st := &ip.p.steps[i]
		if st.par && ip.pool != nil {
			ip.pool.run(st.s, st.n, st.align, st.chunks, ip.workers)
		} else {
			st.s.run(&ip.workers[0], 0, st.n)
		}
	}
	return nil
}

// Close stops the helper goroutines. It is idempotent.
func (ip *Interpreter) Close() {
	ip.once.Do(func() {
		ip.closed = true
		if ip.pool != nil {
			ip.cleanup.Stop()
			ip.pool.close()
		}
	})
}
