package blazeface

import (
	"math"
	"testing"

	"facegate/pipeline/frame"
)

func TestAnchors(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec anchorSpec
		n    int
		// anchor i's expected centre
		i    int
		x, y float32
	}{
		{"short first", shortAnchors, 896, 0, 0.5 / 16, 0.5 / 16},
		{"short interpolated twin", shortAnchors, 896, 1, 0.5 / 16, 0.5 / 16},
		{"short second cell", shortAnchors, 896, 2, 1.5 / 16, 0.5 / 16},
		{"short last of stride 8", shortAnchors, 896, 511, 15.5 / 16, 15.5 / 16},
		{"short first of stride 16", shortAnchors, 896, 512, 0.5 / 8, 0.5 / 8},
		{"short six per cell", shortAnchors, 896, 518, 1.5 / 8, 0.5 / 8},
		{"short last", shortAnchors, 896, 895, 7.5 / 8, 7.5 / 8},
		{"full first", fullAnchors, 2304, 0, 0.5 / 48, 0.5 / 48},
		{"full second", fullAnchors, 2304, 1, 1.5 / 48, 0.5 / 48},
		{"full last", fullAnchors, 2304, 2303, 47.5 / 48, 47.5 / 48},
	} {
		a := tc.spec.anchors()
		if len(a) != tc.n {
			t.Fatalf("%s: %d anchors, want %d", tc.name, len(a), tc.n)
		}
		if got := a[tc.i]; abs(got.x-tc.x) > 1e-6 || abs(got.y-tc.y) > 1e-6 {
			t.Errorf("%s: anchor %d = %+v, want (%v, %v)", tc.name, tc.i, got, tc.x, tc.y)
		}
	}
}

func abs(x float32) float32 { return float32(math.Abs(float64(x))) }

func TestLetterboxIdentityAndPadding(t *testing.T) {
	// An image already at model size is sampled exactly.
	const s = 8
	pix := make([]byte, s*s*3)
	for i := range pix {
		pix[i] = byte(i * 7)
	}
	var lb letterbox
	lb.setup(s, s, s)
	dst := make([]float32, s*s*3)
	lb.fillRGB(dst, pix, 3*s, 3, 0, 1, 2)
	for i, v := range dst {
		if want := (float32(pix[i]) - 127.5) / 127.5; abs(v-want) > 1e-6 {
			t.Fatalf("element %d = %v, want %v", i, v, want)
		}
	}
	// A 8×4 white image in an 8×8 square: two black rows above and below.
	white := make([]byte, 8*4*3)
	for i := range white {
		white[i] = 255
	}
	lb.setup(8, 4, s)
	lb.fillRGB(dst, white, 24, 3, 0, 1, 2)
	for y := 0; y < s; y++ {
		want := float32(1)
		if y < 2 || y >= 6 {
			want = -1
		}
		if got := dst[(y*s+3)*3]; abs(got-want) > 1e-6 {
			t.Errorf("row %d = %v, want %v", y, got, want)
		}
	}
	// BGR order swaps channels.
	bgr := []byte{10, 20, 30}
	lb.setup(1, 1, 2)
	out := make([]float32, 2*2*3)
	lb.fillRGB(out, bgr, 3, 3, 2, 1, 0)
	if want := (float32(30) - 127.5) / 127.5; abs(out[0]-want) > 1e-6 {
		t.Errorf("BGR red = %v, want %v", out[0], want)
	}
}

func TestLetterboxHalfScale(t *testing.T) {
	// Downscaling 2:1 samples between two source pixels: their mean.
	pix := []byte{0, 0, 0, 100, 100, 100, 200, 200, 200, 50, 50, 50}
	var lb letterbox
	lb.setup(4, 1, 2) // side 4, 1.5 rows of padding each side
	dst := make([]float32, 2*2*3)
	lb.fillRGB(dst, pix, 12, 3, 0, 1, 2)
	// Output row 0 centre maps to y = 1 − 1.5 < 0: padding. Row 1 centre maps
	// to y = 3 − 1.5 = 1.5 > 1: padding too (the image is one row high).
	for i, v := range dst {
		if v != -1 {
			t.Fatalf("element %d = %v, want padding", i, v)
		}
	}
	lb.setup(4, 4, 2)
	img := make([]byte, 4*4*3)
	copy(img, pix)
	copy(img[12:], pix)
	lb.fillRGB(dst, img, 12, 3, 0, 1, 2)
	if want := (float32(50) - 127.5) / 127.5; abs(dst[0]-want) > 1e-5 {
		t.Errorf("pixel (0,0) = %v, want mean of 0 and 100 -> %v", dst[0], want)
	}
	if want := (float32(125) - 127.5) / 127.5; abs(dst[3]-want) > 1e-5 {
		t.Errorf("pixel (1,0) = %v, want mean of 200 and 50 -> %v", dst[3], want)
	}
}

func TestDecodeAndWeightedNMS(t *testing.T) {
	anchors := []anchor{{0.5, 0.5}, {0.5, 0.5}, {0.1, 0.1}, {0.9, 0.9}}
	raw := make([]float32, len(anchors)*numCoords)
	set := func(i int, dx, w float32) {
		r := raw[i*numCoords:]
		r[0], r[1], r[2], r[3] = dx, 0, w, w
		for k := 0; k < frame.NumKeypoints; k++ {
			r[4+2*k] = dx
		}
	}
	set(0, 0, 40) // centred box, 40/128 wide
	set(1, 4, 40) // same, shifted right by 4 px: joins the cluster
	set(2, 0, 20) // separate box
	set(3, 0, -5) // negative size: dropped
	logit := func(p float64) float32 { return float32(math.Log(p / (1 - p))) }
	scores := []float32{logit(0.9), logit(0.6), logit(0.7), logit(0.99)}
	c := decode(nil, raw, scores, anchors, 128, 0.5)
	if len(c) != 3 {
		t.Fatalf("decoded %d candidates, want 3 (negative size dropped)", len(c))
	}
	out, _ := weightedNMS(c, nil, nil)
	if len(out) != 2 {
		t.Fatalf("%d clusters, want 2", len(out))
	}
	if abs(out[0].score-0.9) > 1e-6 || abs(out[1].score-0.7) > 1e-6 {
		t.Errorf("scores %v, %v; want best member's 0.9, 0.7", out[0].score, out[1].score)
	}
	// Weighted centre: (0.9·0 + 0.6·4)/1.5 = 1.6 px right of 0.5.
	wantX := float32(0.5 + 1.6/128)
	if got := (out[0].x0 + out[0].x1) / 2; abs(got-wantX) > 1e-6 {
		t.Errorf("cluster centre x = %v, want %v", got, wantX)
	}
	if abs(out[0].kp[frame.Mouth].X-wantX) > 1e-6 {
		t.Errorf("cluster keypoint x = %v, want %v", out[0].kp[frame.Mouth].X, wantX)
	}
	// Min score filters.
	if c := decode(nil, raw, scores, anchors, 128, 0.95); len(c) != 0 {
		t.Errorf("min score 0.95 kept %d candidates", len(c))
	}
}

func TestSigmoidClip(t *testing.T) {
	if s := sigmoid(-1e30); s != sigmoid(-100) {
		t.Errorf("sigmoid(-1e30) = %v, want clipped %v", s, sigmoid(-100))
	}
	if s := sigmoid(0); s != 0.5 {
		t.Errorf("sigmoid(0) = %v", s)
	}
}

func TestProject(t *testing.T) {
	var lb letterbox
	lb.setup(200, 100, 128) // side 200, 50 px padding top and bottom
	c := candidate{x0: 0.25, y0: 0.25, x1: 0.75, y1: 0.5, score: 1}
	c.kp[0] = frame.Point{X: 0.5, Y: 0.5}
	f := lb.project(&c)
	want := frame.Box{X: 50, Y: 0, W: 100, H: 50}
	if f.Box != want {
		t.Errorf("box %+v, want %+v", f.Box, want)
	}
	if f.Keypoints[0] != (frame.Point{X: 100, Y: 50}) {
		t.Errorf("keypoint %+v, want image centre", f.Keypoints[0])
	}
}
