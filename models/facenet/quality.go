package facenet

import (
	"fmt"
	"math"

	"facegate/pipeline/frame"
)

// Enrollment limits. They follow from the geometry of the 112×112 template
// and of a head, not from the development photos:
const (
	// MinEyeDist: the template puts the eyes 35 px apart; below 30 px the
	// warp upsamples by more than ~1.2× and the crop holds less detail than
	// the model was trained on.
	MinEyeDist = 30
	// MaxYaw: beyond ~30° one eye and cheek start to be hidden and the
	// 4-point alignment (which assumes a frontal face) distorts the crop.
	MaxYaw = 30
	// MaxRoll: alignment removes roll, but BlazeFace's keypoints degrade
	// for strongly tilted heads.
	MaxRoll = 35
	// MinSharpness is the variance of the Laplacian of the aligned grey
	// face below which fine structure (eyelids, lip line) is gone: a
	// face blurred by a Gaussian of σ ≈ 2 aligned pixels ends near it.
	MinSharpness = 20
	// MinScore is the detector confidence an enrollment face needs: clearly
	// above MediaPipe's 0.5 detection cut.
	MinScore = 0.6
	// noseDepth is the nose tip's protrusion in front of the eyes as a
	// fraction of the distance between the eyes (anthropometric mean
	// ≈ 32 mm over ≈ 63 mm), which turns the nose's sideways offset into
	// a yaw angle.
	noseDepth = 0.5
)

// Quality rates a detected face for enrollment.
type Quality struct {
	Score     float32 `json:"score"`     // 0..1, higher is better
	EyeDist   float32 `json:"eye_dist"`  // pixels between the eyes in the source image
	Sharpness float32 `json:"sharpness"` // variance of the Laplacian of the aligned face
	Yaw       float32 `json:"yaw"`       // degrees, positive when the nose points to the image right
	Roll      float32 `json:"roll"`      // degrees of the eye line from horizontal
	OK        bool    `json:"ok"`        // good enough to enroll
	Reason    string  `json:"reason,omitempty"`
}

// Assess rates a face from its keypoints and its aligned crop (nil skips
// the sharpness test).
func Assess(f frame.Face, a *Aligned) Quality {
	re, le := f.Keypoints[frame.RightEye], f.Keypoints[frame.LeftEye]
	nose := f.Keypoints[frame.NoseTip]
	dx, dy := float64(le.X-re.X), float64(le.Y-re.Y)
	eyes := math.Hypot(dx, dy)
	q := Quality{EyeDist: float32(eyes)}
	q.Roll = float32(math.Atan2(dy, dx) * 180 / math.Pi)
	if eyes > 0 {
		// Nose offset from the eye midpoint along the eye line, in eye
		// distances: (depth/eyes)·tan(yaw).
		mx, my := float64(re.X+le.X)/2, float64(re.Y+le.Y)/2
		off := ((float64(nose.X)-mx)*dx + (float64(nose.Y)-my)*dy) / (eyes * eyes)
		q.Yaw = float32(math.Atan(off/noseDepth) * 180 / math.Pi)
	}
	if a != nil {
		q.Sharpness = float32(laplacianVariance(a))
	}
	size := clamp01(eyes / (2 * MinEyeDist))
	sharp := 1.0
	if a != nil {
		sharp = clamp01(float64(q.Sharpness) / (4 * MinSharpness))
	}
	yaw, roll := float64(q.Yaw)*math.Pi/180, float64(q.Roll)*math.Pi/180
	front := math.Max(0, math.Cos(yaw)) * math.Max(0, math.Cos(roll))
	q.Score = float32(float64(f.Score) * size * sharp * front * front)
	switch {
	case eyes < MinEyeDist:
		q.Reason = fmt.Sprintf("face too small: eyes %.0f px apart, need %d", eyes, MinEyeDist)
	case math.Abs(float64(q.Yaw)) > MaxYaw:
		q.Reason = fmt.Sprintf("turned away: yaw %.0f°, at most %d°", q.Yaw, MaxYaw)
	case math.Abs(float64(q.Roll)) > MaxRoll:
		q.Reason = fmt.Sprintf("head tilted: roll %.0f°, at most %d°", q.Roll, MaxRoll)
	case a != nil && q.Sharpness < MinSharpness:
		q.Reason = fmt.Sprintf("too blurred: sharpness %.0f, need %d", q.Sharpness, MinSharpness)
	case f.Score < MinScore:
		q.Reason = fmt.Sprintf("unclear face: detector score %.2f, need %.2f", f.Score, MinScore)
	default:
		q.OK = true
	}
	return q
}

func clamp01(x float64) float64 { return math.Min(1, math.Max(0, x)) }

// laplacianVariance is the variance of the 4-neighbour Laplacian of the
// grey aligned face over its central region (eyes to chin, away from any
// black border the warp may have added).
func laplacianVariance(a *Aligned) float64 {
	const lo, hi = 24, Size - 16
	gray := func(x, y int) float64 {
		o := (y*Size + x) * 3
		return 0.299*float64(a.Pix[o]) + 0.587*float64(a.Pix[o+1]) + 0.114*float64(a.Pix[o+2])
	}
	var s, s2 float64
	n := 0
	for y := lo; y < hi; y++ {
		for x := lo; x < Size-lo; x++ {
			l := gray(x-1, y) + gray(x+1, y) + gray(x, y-1) + gray(x, y+1) - 4*gray(x, y)
			s += l
			s2 += l * l
			n++
		}
	}
	m := s / float64(n)
	return s2/float64(n) - m*m
}
