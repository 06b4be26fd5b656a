package facenet

import (
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"sync"

	"facegate/models"
	"facegate/models/tflite"
	"facegate/pipeline/frame"
)

// Options configure an Embedder.
type Options struct {
	Threads   int    // interpreter threads; 0 lets the runtime choose
	ModelPath string // optional replacement MobileFaceNet file
	// Mirror also embeds the horizontally mirrored face and averages the
	// two, in one batch of two (about 1.3–1.8× the model time). Mirrored
	// and plain embeddings of one face are close but not equal.
	Mirror bool
}

// Embedder runs one MobileFaceNet interpreter. It is safe for concurrent
// use: calls take turns on the one interpreter. Embeddings are rare next
// to detections (new faces, refreshes), so the daemon's cameras share one
// Embedder and its 5 MB of buffers rather than each keeping its own.
type Embedder struct {
	mu     sync.Mutex // guards the interpreter and the batch state
	ip     *tflite.Interpreter
	file   models.File
	id     string // file.ID(), computed once: it goes with every embedding
	mirror bool
	batch  int // current input batch
	native int // the file's own batch, used when resizing fails
	fixed  bool
}

// New loads MobileFaceNet and builds its interpreter.
func New(opt Options) (*Embedder, error) {
	m, err := Load(opt)
	if err != nil {
		return nil, err
	}
	return m.NewEmbedder(opt)
}

// Model is a loaded MobileFaceNet, parsed, checked and with its weights
// packed once. It is immutable: any number of Embedders share it, so
// another Embedder costs an interpreter's buffers, not another 5 MB of
// weights.
type Model struct {
	file   models.File
	m      *tflite.Model
	native int // the file's own batch
}

// Load loads MobileFaceNet (opt.ModelPath, or the embedded file).
func Load(opt Options) (*Model, error) {
	file, err := models.Open(models.Recognizer, opt.ModelPath)
	if err != nil {
		return nil, err
	}
	m, err := tflite.Load(file.Data)
	if err != nil {
		return nil, fmt.Errorf("facenet: %s: %w", file.Name, err)
	}
	in, out := m.Inputs(), m.Outputs()
	if len(in) != 1 || len(in[0].Shape) != 4 || !slices.Equal(in[0].Shape[1:], []int{Size, Size, 3}) ||
		len(out) != 1 || len(out[0].Shape) != 2 || out[0].Shape[1] != frame.EmbeddingDim {
		return nil, fmt.Errorf("facenet: %s: want input [n %d %d 3] and output [n %d], have %v -> %v",
			file.Name, Size, Size, frame.EmbeddingDim, in, out)
	}
	return &Model{file: file, m: m, native: in[0].Shape[0]}, nil
}

// NewEmbedder makes an embedder on the loaded model with opt's threads and
// mirror setting (opt.ModelPath is the model's own).
func (fm *Model) NewEmbedder(opt Options) (*Embedder, error) {
	ip, err := tflite.NewInterpreter(fm.m, tflite.Options{Threads: opt.Threads})
	if err != nil {
		return nil, fmt.Errorf("facenet: %s: %w", fm.file.Name, err)
	}
	return &Embedder{ip: ip, file: fm.file, id: fm.file.ID(), mirror: opt.Mirror, native: fm.native, batch: fm.native}, nil
}

// Close releases the interpreter. It is idempotent.
func (e *Embedder) Close() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ip != nil {
		e.ip.Close()
		e.ip = nil
	}
}

// Model returns the identity stored with every embedding.
func (e *Embedder) Model() string { return e.id }

// ErrClosed is returned by a closed Embedder.
var ErrClosed = errors.New("facenet: embedder closed")

// maxBatch bounds one model run: activation memory grows with the batch
// (~10 MB per face) while the speed gain flattens after a few faces.
const maxBatch = 8

// setBatch resizes the input to n faces (at most maxBatch); a model that
// refuses keeps its own batch and is run in chunks.
func (e *Embedder) setBatch(n int) int {
	n = min(n, maxBatch)
	if e.fixed || n == e.batch {
		return e.batch
	}
	if err := e.ip.ResizeInput(0, []int{n, Size, Size, 3}); err == nil &&
		slices.Equal(e.ip.OutputShape(0), []int{n, frame.EmbeddingDim}) {
		e.batch = n
		return n
	}
	// Back to the file's batch for good.
	if e.ip.ResizeInput(0, []int{e.native, Size, Size, 3}) == nil {
		e.batch = e.native
	}
	e.fixed = true
	return e.batch
}

// Embed computes the embedding of one aligned face.
func (e *Embedder) Embed(a *Aligned) (frame.Embedding, error) {
	v := make([]float32, frame.EmbeddingDim)
	if err := e.EmbedTo(a, v); err != nil {
		return frame.Embedding{}, err
	}
	return frame.Embedding{Vector: v, Model: e.id}, nil
}

// EmbedTo writes the L2-normalised embedding of one aligned face into dst
// (frame.EmbeddingDim floats). It does not allocate once the embedder has
// run at this batch size; the embedding's model is Model().
func (e *Embedder) EmbedTo(a *Aligned, dst []float32) error {
	if len(dst) != frame.EmbeddingDim {
		return fmt.Errorf("facenet: destination of %d floats, want %d", len(dst), frame.EmbeddingDim)
	}
	one := [1]*Aligned{a} // on the stack: run does not keep it
	return e.run(one[:], dst)
}

// EmbedImage aligns the face in img into dst (allocated when nil) and
// embeds it.
func (e *Embedder) EmbedImage(img image.Image, f frame.Face, dst *Aligned) (frame.Embedding, *Aligned, error) {
	a, err := Align(img, f, dst)
	if err != nil {
		return frame.Embedding{}, nil, err
	}
	emb, err := e.Embed(a)
	return emb, a, err
}

// EmbedFrame aligns the face in a camera frame into dst and embeds it.
func (e *Embedder) EmbedFrame(fr *frame.Frame, f frame.Face, dst *Aligned) (frame.Embedding, *Aligned, error) {
	a, err := AlignFrame(fr, f, dst)
	if err != nil {
		return frame.Embedding{}, nil, err
	}
	emb, err := e.Embed(a)
	return emb, a, err
}

// EmbedBatch embeds several aligned faces in as few model runs as the
// model allows; the result is in the same order.
func (e *Embedder) EmbedBatch(faces []*Aligned) ([]frame.Embedding, error) {
	if len(faces) == 0 {
		return nil, nil
	}
	vecs := make([]float32, len(faces)*frame.EmbeddingDim)
	if err := e.run(faces, vecs); err != nil {
		return nil, err
	}
	res := make([]frame.Embedding, len(faces))
	for i := range res {
		v := vecs[i*frame.EmbeddingDim : (i+1)*frame.EmbeddingDim : (i+1)*frame.EmbeddingDim]
		res[i] = frame.Embedding{Vector: v, Model: e.id}
	}
	return res, nil
}

// run embeds faces into out (EmbeddingDim floats per face, in order).
func (e *Embedder) run(faces []*Aligned, out []float32) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ip == nil {
		return ErrClosed
	}
	per := 1
	if e.mirror {
		per = 2
	}
	total := per * len(faces)
	clear(out)
	for start := 0; start < total; {
		n := e.setBatch(total - start)
		n = min(n, total-start)
		in := e.ip.Input(0)
		for i := 0; i < e.batch; i++ {
			item := start + min(i, n-1) // pad a fixed batch with the last item
			fill(in[i*Size*Size*3:(i+1)*Size*Size*3], faces[item/per], item%per == 1)
		}
		if err := e.ip.Invoke(); err != nil {
			return fmt.Errorf("facenet: %w", err)
		}
		res := e.ip.Output(0)
		for i := 0; i < n; i++ {
			item := start + i
			v := res[i*frame.EmbeddingDim : (i+1)*frame.EmbeddingDim]
			// Each view is normalised before averaging so both weigh alike.
			k := float32(1 / math.Sqrt(max(sumSquares(v), 1e-10)))
			dst := out[(item/per)*frame.EmbeddingDim:]
			for j, x := range v {
				dst[j] += k * x
			}
		}
		start += n
	}
	for i := range faces {
		Normalize(out[i*frame.EmbeddingDim : (i+1)*frame.EmbeddingDim])
	}
	return nil
}

// fill writes one aligned face as the model's input, (p − 127.5) / 128,
// optionally mirrored left to right.
func fill(dst []float32, a *Aligned, mirror bool) {
	const k = 1.0 / 128
	if !mirror {
		for i, p := range a.Pix {
			dst[i] = (float32(p) - 127.5) * k
		}
		return
	}
	for y := 0; y < Size; y++ {
		row := a.Pix[y*Size*3 : (y+1)*Size*3]
		out := dst[y*Size*3 : (y+1)*Size*3]
		for x := 0; x < Size; x++ {
			s := (Size - 1 - x) * 3
			out[3*x] = (float32(row[s]) - 127.5) * k
			out[3*x+1] = (float32(row[s+1]) - 127.5) * k
			out[3*x+2] = (float32(row[s+2]) - 127.5) * k
		}
	}
}
