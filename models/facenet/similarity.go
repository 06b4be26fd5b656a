package facenet

import (
	"fmt"
	"math"

	"facegate/pipeline/frame"
)

// DefaultThreshold is the cosine similarity above which two faces are
// taken to be the same person in a one-to-one comparison. It is the
// best-accuracy threshold over all same/different pairs of the
// development photos (testdata/faces); TestVerification recomputes it and
// fails when this constant drifts. Naming against a gallery needs a higher
// bar (see ../shared/notes/RECOGNITION.md).
const DefaultThreshold = 0.45

// Similarity returns the cosine similarity of two embeddings of the same
// model; embeddings of different models cannot be compared.
func Similarity(a, b frame.Embedding) (float32, error) {
	if a.Model != b.Model {
		return 0, fmt.Errorf("facenet: embeddings of different models (%s, %s)", a.Model, b.Model)
	}
	if len(a.Vector) != len(b.Vector) || len(a.Vector) == 0 {
		return 0, fmt.Errorf("facenet: embedding lengths %d and %d", len(a.Vector), len(b.Vector))
	}
	return frame.Cosine(a.Vector, b.Vector), nil
}

func sumSquares(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return s
}

// Normalize scales v to unit length in place, as the model's host code
// does: x / sqrt(max(Σx², 1e-10)).
func Normalize(v []float32) {
	k := float32(1 / math.Sqrt(max(sumSquares(v), 1e-10)))
	for i := range v {
		v[i] *= k
	}
}
