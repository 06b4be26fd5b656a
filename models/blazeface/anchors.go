package blazeface

import "math"

// anchorSpec is the subset of MediaPipe's SSD anchor options that BlazeFace
// uses. Both models have fixed-size anchors (width = height = 1), so only
// the anchor centres matter.
type anchorSpec struct {
	inputSize    int   // square model input side
	strides      []int // one per layer
	interpolated bool  // one extra anchor per layer (interpolated scale, aspect 1)
}

var (
	shortAnchors = anchorSpec{inputSize: 128, strides: []int{8, 16, 16, 16}, interpolated: true}
	fullAnchors  = anchorSpec{inputSize: 192, strides: []int{4}, interpolated: false}
)

// anchor is an anchor centre in normalised model-input coordinates.
type anchor struct{ x, y float32 }

// anchors generates the anchor centres in the order the model emits its
// boxes: consecutive layers with the same stride share a feature map, and
// for each cell of that map every layer contributes its anchors (one per
// aspect ratio, here 1.0, plus the interpolated one).
func (s anchorSpec) anchors() []anchor {
	var out []anchor
	for layer := 0; layer < len(s.strides); {
		stride := s.strides[layer]
		perCell := 0
		last := layer
		for last < len(s.strides) && s.strides[last] == stride {
			perCell++ // aspect ratio 1.0
			if s.interpolated {
				perCell++
			}
			last++
		}
		fm := int(math.Ceil(float64(s.inputSize) / float64(stride)))
		for y := 0; y < fm; y++ {
			for x := 0; x < fm; x++ {
				a := anchor{
					x: float32((float64(x) + 0.5) / float64(fm)),
					y: float32((float64(y) + 0.5) / float64(fm)),
				}
				for k := 0; k < perCell; k++ {
					out = append(out, a)
				}
			}
		}
		layer = last
	}
	return out
}
