// Package blazeface detects faces with MediaPipe's BlazeFace models
// (short-range 128×128 and sparse full-range 192×192) and reproduces
// MediaPipe's host code around them: letterbox preprocessing, SSD anchors,
// box and keypoint decoding, weighted non-maximum suppression and the
// projection back to image pixels.
package blazeface

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"slices"

	"facegate/models"
	"facegate/models/tflite"
	"facegate/pipeline/frame"
)

// Options configure a Detector.
type Options struct {
	Model     string  // "short" (default, faces within ~2 m) or "full" (sparse full-range)
	MinScore  float32 // minimum detection score; 0 means 0.5, MediaPipe's default
	Threads   int     // interpreter threads; 0 lets the runtime choose
	ModelPath string  // optional replacement .tflite file for the chosen model
}

// Detector runs one BlazeFace interpreter. It owns its buffers and is not
// safe for concurrent use: give each goroutine its own Detector.
type Detector struct {
	ip       *tflite.Interpreter
	file     models.File
	anchors  []anchor
	size     int
	regOut   int // output index of the box regressors [1, N, 16]
	scoreOut int // output index of the score logits [1, N, 1]
	minScore float32

	lb       letterbox
	cands    []candidate
	clusters []candidate
	done     []bool
}

// New loads the chosen model and builds its interpreter.
func New(opt Options) (*Detector, error) {
	m, err := Load(opt)
	if err != nil {
		return nil, err
	}
	return m.NewDetector(opt)
}

// Model is a loaded BlazeFace model, parsed, checked and with its weights
// packed once. It is immutable: any number of Detectors, one per
// goroutine, share it, so another camera costs an interpreter's buffers,
// not another copy of the weights.
type Model struct {
	file             models.File
	m                *tflite.Model
	spec             anchorSpec
	anchors          []anchor
	regOut, scoreOut int
}

// Load loads the model opt names (opt.Model, opt.ModelPath).
func Load(opt Options) (*Model, error) {
	var name string
	var spec anchorSpec
	switch opt.Model {
	case "", "short":
		name, spec = models.DetectorShort, shortAnchors
	case "full":
		name, spec = models.DetectorFull, fullAnchors
	default:
		return nil, fmt.Errorf("blazeface: unknown model %q (want short or full)", opt.Model)
	}
	file, err := models.Open(name, opt.ModelPath)
	if err != nil {
		return nil, err
	}
	m, err := tflite.Load(file.Data)
	if err != nil {
		return nil, fmt.Errorf("blazeface: %s: %w", file.Name, err)
	}
	bm := &Model{file: file, m: m, spec: spec, anchors: spec.anchors(), regOut: -1, scoreOut: -1}
	size := spec.inputSize
	in := m.Inputs()
	if len(in) != 1 || !slices.Equal(in[0].Shape, []int{1, size, size, 3}) {
		return nil, fmt.Errorf("blazeface: %s: want one input [1 %d %d 3], have %v", file.Name, size, size, in)
	}
	n := len(bm.anchors)
	for i, o := range m.Outputs() {
		switch {
		case slices.Equal(o.Shape, []int{1, n, numCoords}):
			bm.regOut = i
		case slices.Equal(o.Shape, []int{1, n, 1}):
			bm.scoreOut = i
		}
	}
	if bm.regOut < 0 || bm.scoreOut < 0 {
		return nil, fmt.Errorf("blazeface: %s: want outputs [1 %d 16] and [1 %d 1], have %v", file.Name, n, n, m.Outputs())
	}
	return bm, nil
}

// NewDetector makes a detector on the loaded model with opt's minimum
// score and threads (opt.Model and opt.ModelPath are the model's own).
func (bm *Model) NewDetector(opt Options) (*Detector, error) {
	minScore := opt.MinScore
	if minScore == 0 {
		minScore = defaultMinimum
	}
	if !(minScore > 0 && minScore <= 1) {
		return nil, fmt.Errorf("blazeface: minimum score %v outside (0, 1]", opt.MinScore)
	}
	d := &Detector{file: bm.file, anchors: bm.anchors, size: bm.spec.inputSize, minScore: minScore, regOut: bm.regOut, scoreOut: bm.scoreOut}
	var err error
	d.ip, err = tflite.NewInterpreter(bm.m, tflite.Options{Threads: opt.Threads})
	if err != nil {
		return nil, fmt.Errorf("blazeface: %s: %w", bm.file.Name, err)
	}
	d.cands = make([]candidate, 0, 64)
	d.clusters = make([]candidate, 0, 16)
	d.done = make([]bool, 0, 64)
	return d, nil
}

// Close releases the interpreter. It is idempotent.
func (d *Detector) Close() {
	if d.ip != nil {
		d.ip.Close()
		d.ip = nil
	}
}

// Model returns the identity of the model file (name and sha256 prefix).
func (d *Detector) Model() string { return d.file.ID() }

// InputSize returns the side of the model's square input in pixels.
func (d *Detector) InputSize() int { return d.size }

// ErrClosed is returned by a closed Detector.
var ErrClosed = errors.New("blazeface: detector closed")

// Detect finds faces in a packed RGB or BGR frame and appends them to
// dst[:0], best first. With a reused dst it allocates nothing once the
// detector has seen the frame size.
func (d *Detector) Detect(f *frame.Frame, dst []frame.Face) ([]frame.Face, error) {
	if d.ip == nil {
		return dst[:0], ErrClosed
	}
	if f == nil || f.Width <= 0 || f.Height <= 0 || f.Stride < 3*f.Width ||
		len(f.Pix) < f.Stride*(f.Height-1)+3*f.Width {
		return dst[:0], errors.New("blazeface: malformed frame")
	}
	if f.Format != frame.RGB && f.Format != frame.BGR {
		return dst[:0], fmt.Errorf("blazeface: unsupported frame format %v", f.Format)
	}
	r, g, b := channels(f.Format)
	return d.run(f.Pix, f.Width, f.Height, f.Stride, 3, r, g, b, dst)
}

// DetectImage finds faces in any image, best first. Box and keypoint
// coordinates are relative to the image's bounds' top-left corner.
// Gray images are expanded to R = G = B; alpha is ignored. The pixels are
// sampled in place (no converted copy of the image is made or kept).
func (d *Detector) DetectImage(img image.Image) ([]frame.Face, error) {
	if d.ip == nil {
		return nil, ErrClosed
	}
	bnd := img.Bounds()
	w, h := bnd.Dx(), bnd.Dy()
	if w <= 0 || h <= 0 {
		return nil, errors.New("blazeface: empty image")
	}
	switch m := img.(type) {
	case *image.RGBA:
		return d.run(m.Pix[m.PixOffset(bnd.Min.X, bnd.Min.Y):], w, h, m.Stride, 4, 0, 1, 2, nil)
	case *image.NRGBA:
		return d.run(m.Pix[m.PixOffset(bnd.Min.X, bnd.Min.Y):], w, h, m.Stride, 4, 0, 1, 2, nil)
	case *image.Gray:
		return d.run(m.Pix[m.PixOffset(bnd.Min.X, bnd.Min.Y):], w, h, m.Stride, 1, 0, 0, 0, nil)
	case *image.YCbCr:
		d.lb.setup(w, h, d.size)
		d.lb.fillFunc(d.ip.Input(0), func(x, y int) (byte, byte, byte) {
			x, y = x+bnd.Min.X, y+bnd.Min.Y
			return color.YCbCrToRGB(m.Y[m.YOffset(x, y)], m.Cb[m.COffset(x, y)], m.Cr[m.COffset(x, y)])
		})
	default:
		d.lb.setup(w, h, d.size)
		d.lb.fillFunc(d.ip.Input(0), func(x, y int) (byte, byte, byte) {
			r, g, b, _ := img.At(x+bnd.Min.X, y+bnd.Min.Y).RGBA()
			return byte(r >> 8), byte(g >> 8), byte(b >> 8)
		})
	}
	return d.finish(nil)
}

// run letterboxes the pixels into the input tensor, invokes the model and
// decodes its outputs.
func (d *Detector) run(pix []byte, w, h, stride, bpp, r, g, b int, dst []frame.Face) ([]frame.Face, error) {
	d.lb.setup(w, h, d.size)
	d.lb.fillRGB(d.ip.Input(0), pix, stride, bpp, r, g, b)
	return d.finish(dst)
}

// finish invokes the model on the filled input and decodes its outputs.
func (d *Detector) finish(dst []frame.Face) ([]frame.Face, error) {
	if err := d.ip.Invoke(); err != nil {
		return dst[:0], fmt.Errorf("blazeface: %w", err)
	}
	d.cands = decode(d.cands[:0], d.ip.Output(d.regOut), d.ip.Output(d.scoreOut), d.anchors, d.size, d.minScore)
	d.clusters, d.done = weightedNMS(d.cands, d.done, d.clusters[:0])
	dst = dst[:0]
	for i := range d.clusters {
		dst = append(dst, d.lb.project(&d.clusters[i]))
	}
	return dst, nil
}
