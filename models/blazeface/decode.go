package blazeface

import (
	"cmp"
	"math"
	"slices"

	"facegate/pipeline/frame"
)

// Decoding constants shared by both BlazeFace models (MediaPipe's
// TensorsToDetections and NonMaxSuppression options for face detection).
const (
	numCoords      = 16    // box (4) + 6 keypoints × 2
	scoreClip      = 100.0 // raw scores are clamped to ±100 before the sigmoid
	nmsIoU         = 0.3   // candidates overlapping the best by more join its cluster
	defaultMinimum = 0.5   // minimum detection score
)

// candidate is one decoded anchor box in normalised letterbox coordinates.
type candidate struct {
	x0, y0, x1, y1 float32
	kp             [frame.NumKeypoints]frame.Point
	score          float32
}

func (c *candidate) iou(o *candidate) float32 {
	ix0, iy0 := max(c.x0, o.x0), max(c.y0, o.y0)
	ix1, iy1 := min(c.x1, o.x1), min(c.y1, o.y1)
	if ix1 <= ix0 || iy1 <= iy0 {
		return 0
	}
	inter := (ix1 - ix0) * (iy1 - iy0)
	u := (c.x1-c.x0)*(c.y1-c.y0) + (o.x1-o.x0)*(o.y1-o.y0) - inter
	if u <= 0 {
		return 0
	}
	return inter / u
}

// sigmoid is the score activation with MediaPipe's clipping.
func sigmoid(x float32) float32 {
	x = min(max(x, -scoreClip), scoreClip)
	return float32(1 / (1 + math.Exp(-float64(x))))
}

// decode appends the candidates whose score reaches minScore. raw holds
// numCoords values per anchor, scores one logit per anchor; size is the
// model input side in pixels.
func decode(dst []candidate, raw, scores []float32, anchors []anchor, size int, minScore float32) []candidate {
	s := 1 / float32(size)
	for i, a := range anchors {
		score := sigmoid(scores[i])
		if score < minScore || score != score {
			continue
		}
		r := raw[i*numCoords : (i+1)*numCoords]
		xc := r[0]*s + a.x
		yc := r[1]*s + a.y
		w := r[2] * s
		h := r[3] * s
		if !(w > 0 && h > 0) { // also rejects NaN
			continue
		}
		c := candidate{x0: xc - w/2, y0: yc - h/2, x1: xc + w/2, y1: yc + h/2, score: score}
		for k := 0; k < frame.NumKeypoints; k++ {
			c.kp[k] = frame.Point{X: r[4+2*k]*s + a.x, Y: r[5+2*k]*s + a.y}
		}
		dst = append(dst, c)
	}
	return dst
}

// weightedNMS clusters the candidates as MediaPipe's weighted non-maximum
// suppression does: take the best remaining one; every remaining candidate
// (itself included) whose IoU with it exceeds nmsIoU joins its cluster; the
// cluster's box and keypoints are the score-weighted means of its members,
// its score the best member's. It sorts cands, uses done as scratch (grown
// if short) and appends the clusters to out.
func weightedNMS(cands []candidate, done []bool, out []candidate) ([]candidate, []bool) {
	slices.SortStableFunc(cands, func(a, b candidate) int { return cmp.Compare(b.score, a.score) })
	if cap(done) < len(cands) {
		done = make([]bool, len(cands))
	}
	done = done[:len(cands)]
	clear(done)
	for i := range cands {
		if done[i] {
			continue
		}
		seed := &cands[i]
		var sx0, sy0, sx1, sy1, total float32
		var kp [frame.NumKeypoints]frame.Point
		for j := i; j < len(cands); j++ {
			c := &cands[j]
			if done[j] || seed.iou(c) <= nmsIoU {
				continue
			}
			done[j] = true
			w := c.score
			total += w
			sx0 += w * c.x0
			sy0 += w * c.y0
			sx1 += w * c.x1
			sy1 += w * c.y1
			for k := range kp {
				kp[k].X += w * c.kp[k].X
				kp[k].Y += w * c.kp[k].Y
			}
		}
		res := *seed
		done[i] = true
		if total > 0 {
			res.x0, res.y0, res.x1, res.y1 = sx0/total, sy0/total, sx1/total, sy1/total
			for k := range kp {
				res.kp[k] = frame.Point{X: kp[k].X / total, Y: kp[k].Y / total}
			}
		}
		out = append(out, res)
	}
	return out, done
}

// project maps a clustered candidate from normalised letterbox coordinates
// back to source pixels.
func (lb *letterbox) project(c *candidate) frame.Face {
	px := func(x float32) float32 { return x*lb.side - lb.padX }
	py := func(y float32) float32 { return y*lb.side - lb.padY }
	f := frame.Face{
		Box: frame.Box{
			X: px(c.x0), Y: py(c.y0),
			W: (c.x1 - c.x0) * lb.side, H: (c.y1 - c.y0) * lb.side,
		},
		Score: c.score,
	}
	for k := range c.kp {
		f.Keypoints[k] = frame.Point{X: px(c.kp[k].X), Y: py(c.kp[k].Y)}
	}
	return f
}
