// Package frame is the shared vocabulary of facegate's frame path: frames,
// boxes, faces and embeddings. It imports nothing of the project, so every
// layer (cameras, models, pipeline, adapters) can speak it.
package frame

import "time"

// Format is the byte order of a packed 3-channel 8-bit frame.
type Format uint8

const (
	// RGB frames store red, green, blue per pixel.
	RGB Format = iota
	// BGR frames store blue, green, red per pixel (OpenCV's order).
	BGR
)

// String names the format.
func (f Format) String() string {
	switch f {
	case RGB:
		return "rgb"
	case BGR:
		return "bgr"
	}
	return "unknown"
}

// Frame is one packed 3-channel 8-bit image from a source. The source owns
// Pix; a consumer that keeps pixels beyond its turn copies them.
type Frame struct {
	Pix    []byte // len(Pix) >= Stride*(Height-1) + 3*Width
	Width  int
	Height int
	Stride int // bytes per row, >= 3*Width
	Format Format
	Seq    uint64    // increasing per source
	Time   time.Time // capture time
}

// Point is a position in image pixels.
type Point struct{ X, Y float32 }

// Box is an axis-aligned rectangle in image pixels, X,Y its top-left corner.
type Box struct{ X, Y, W, H float32 }

// Area returns W*H, or 0 for an empty box.
func (b Box) Area() float32 {
	if b.W <= 0 || b.H <= 0 {
		return 0
	}
	return b.W * b.H
}

// IoU returns the intersection over union of two boxes (0 when disjoint).
func (b Box) IoU(o Box) float32 {
	x0, y0 := max(b.X, o.X), max(b.Y, o.Y)
	x1, y1 := min(b.X+b.W, o.X+o.W), min(b.Y+b.H, o.Y+o.H)
	if x1 <= x0 || y1 <= y0 {
		return 0
	}
	inter := (x1 - x0) * (y1 - y0)
	u := b.Area() + o.Area() - inter
	if u <= 0 {
		return 0
	}
	return inter / u
}

// Keypoint indices in MediaPipe's order. "Right" is the subject's right,
// which is the image's left in an unmirrored photo.
const (
	RightEye = iota
	LeftEye
	NoseTip
	Mouth
	RightEar
	LeftEar
	NumKeypoints
)

// Face is one detection: box, detector score and six keypoints.
type Face struct {
	Box       Box
	Score     float32
	Keypoints [NumKeypoints]Point
}

// EmbeddingDim is the length of a MobileFaceNet embedding.
const EmbeddingDim = 192

// Embedding is an L2-normalised face embedding tagged with the identity of
// the model that made it, so embeddings of different models are never
// compared.
type Embedding struct {
	Vector []float32
	Model  string // e.g. "MobileFaceNet@d8ba40c0127f"
}

// Cosine returns the cosine similarity of two L2-normalised vectors of the
// same length (their dot product).
func Cosine(a, b []float32) float32 {
	n := min(len(a), len(b))
	var s float32
	for i := 0; i < n; i++ {
		s += a[i] * b[i]
	}
	return s
}
