package blazeface

import (
	"bufio"
	"encoding/json"
	"image"
	_ "image/jpeg" // golden inputs
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"facegate/internal/testenv"
	"facegate/pipeline/frame"
)

// sharedDir returns ../shared relative to the module root.
func sharedDir(t testing.TB) string {
	return testenv.Shared(t)
}

// sharedPath resolves a path of the golden files (relative to ../shared);
// $FACEGATE_TESTDATA replaces the testdata directory.
func sharedPath(t testing.TB, rel string) string {
	if td := os.Getenv("FACEGATE_TESTDATA"); td != "" && strings.HasPrefix(rel, "testdata/") {
		return filepath.Join(td, strings.TrimPrefix(rel, "testdata/"))
	}
	return filepath.Join(sharedDir(t), rel)
}

type goldFace struct {
	Score     float32       `json:"score"`
	Box       [4]float32    `json:"box"`
	Keypoints [6][2]float32 `json:"keypoints"`
}

type goldLine struct {
	File   string     `json:"file"`
	Width  int        `json:"width"`
	Height int        `json:"height"`
	Faces  []goldFace `json:"faces"`
}

func (g goldFace) box() frame.Box {
	return frame.Box{X: g.Box[0], Y: g.Box[1], W: g.Box[2], H: g.Box[3]}
}

func readGolden(t testing.TB, rel string) []goldLine {
	t.Helper()
	path := filepath.Join(sharedDir(t), "golden", "mediapipe", rel)
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("golden file absent: %v", err)
	}
	defer f.Close()
	var out []goldLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var g goldLine
		if err := json.Unmarshal(sc.Bytes(), &g); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, g)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func loadImage(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	return img, err
}

// match pairs gold and detected faces greedily by IoU (best pairs first)
// and returns, for each gold face, the index of its detection or -1.
func match(gold []goldFace, got []frame.Face, minIoU float32) []int {
	type pair struct {
		g, d int
		iou  float32
	}
	var pairs []pair
	for i, g := range gold {
		for j, d := range got {
			if iou := g.box().IoU(d.Box); iou >= minIoU {
				pairs = append(pairs, pair{i, j, iou})
			}
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int {
		if a.iou > b.iou {
			return -1
		}
		if a.iou < b.iou {
			return 1
		}
		return 0
	})
	res := make([]int, len(gold))
	for i := range res {
		res[i] = -1
	}
	used := make([]bool, len(got))
	for _, p := range pairs {
		if res[p.g] < 0 && !used[p.d] {
			res[p.g], used[p.d] = p.d, true
		}
	}
	return res
}

func newDetector(t testing.TB, model string) *Detector {
	t.Helper()
	d, err := New(Options{Model: model, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	return d
}

// maxDiff is the largest coordinate difference between a detection and
// its golden face (box corners and size, keypoints).
func maxDiff(g goldFace, d frame.Face) float64 {
	m := 0.0
	upd := func(a float32, b float32) { m = math.Max(m, math.Abs(float64(a-b))) }
	upd(d.Box.X, g.Box[0])
	upd(d.Box.Y, g.Box[1])
	upd(d.Box.W, g.Box[2])
	upd(d.Box.H, g.Box[3])
	for k := range g.Keypoints {
		upd(d.Keypoints[k].X, g.Keypoints[k][0])
		upd(d.Keypoints[k].Y, g.Keypoints[k][1])
	}
	return m
}

// TestTensorScale runs both models on images already at model size, where
// only float noise should separate two faithful implementations: same
// faces, coordinates within 0.5 px, scores within 0.01.
//
// When the letterbox padding is a whole number of pixels our input tensor
// is MediaPipe's, and every face must agree as it is. When it is a half
// pixel (the padded side has odd length), two rows of the tensor sit on a
// knife edge: their sample position falls exactly on the image's first or
// last row centre line, texture coordinate 0 or 1, which MediaPipe's
// shader treats as inside (sampled) and anything beyond as black. Reading
// MediaPipe's input tensor out of the browser's wasm heap (2026-11-26, 54
// images of both models) showed our tensor equal to it within 2e-5 everywhere except
// there: SwiftShader's interpolation of the coordinate rounds it just past
// the edge for one or both of the viewport's two triangles (split along
// the anti-diagonal) on some geometries (9 of 68 triangle-edges), and that
// half row comes out black. We keep the exact rule (inside), and the test
// holds half-pixel images to the strict bounds under one of the outcomes
// the reference's rounding can produce.
func TestTensorScale(t *testing.T) {
	for _, tc := range []struct{ model, file string }{
		{"short", "tensor-scale/short128.jsonl"},
		{"full", "tensor-scale/full192.jsonl"},
	} {
		t.Run(tc.model, func(t *testing.T) {
			gold := readGolden(t, tc.file)
			d := newDetector(t, tc.model)
			var images, faces, asIs, edged int
			var worstPos, worstScore float64
			for i, g := range gold {
				if testing.Short() && i%6 != 0 {
					continue // -short (arm64 under qemu): a sixth of the images
				}
				img, err := loadImage(sharedPath(t, g.File))
				if err != nil {
					t.Fatalf("%s: %v", g.File, err)
				}
				images++
				faces += len(g.Faces)
				variants := edgeVariants(d, img)
				best, bestPos, bestScore := -1, math.Inf(1), math.Inf(1)
				for v, got := range variants {
					pos, ds, ok := agree(g.Faces, got)
					if ok && best < 0 {
						best = v
					}
					if v == 0 {
						worstPos, worstScore = math.Max(worstPos, pos), math.Max(worstScore, ds)
						bestPos, bestScore = pos, ds
					}
				}
				switch {
				case best == 0:
					asIs++
				case best > 0:
					edged++
					t.Logf("%s: agrees once the knife-edge rows are black as %s (as computed: %.3f px, %.4f in score)", g.File, edgeNames[best], bestPos, bestScore)
				default:
					t.Errorf("%s: no reading of the knife-edge rows agrees with MediaPipe (as computed: %d faces for %d, %.3f px, %.4f in score)",
						g.File, len(variants[0]), len(g.Faces), bestPos, bestScore)
				}
			}
			t.Logf("%s: %d images, %d MediaPipe faces: %d images agree as computed, %d once the reference's knife-edge rounding is applied; worst as computed %.3f px, %.4f in score",
				tc.model, images, faces, asIs, edged, worstPos, worstScore)
		})
	}
}

// agree reports whether got has MediaPipe's faces, each within 0.5 px and
// 0.01 in score, and the worst differences.
func agree(gold []goldFace, got []frame.Face) (pos, ds float64, ok bool) {
	ok = len(got) == len(gold)
	for i, j := range match(gold, got, 0.5) {
		if j < 0 {
			ok = false
			continue
		}
		pos = math.Max(pos, maxDiff(gold[i], got[j]))
		ds = math.Max(ds, math.Abs(float64(got[j].Score-gold[i].Score)))
	}
	return pos, ds, ok && pos <= 0.5 && ds <= 0.01
}

// edgeNames name the variants of edgeVariants: which halves (the
// triangles A, above the anti-diagonal, and B, below it) of the first and
// last knife-edge rows are black.
var edgeNames = []string{"computed", "first A", "first B", "first A+B", "last A", "last B", "last A+B",
	"first A, last B", "first B, last A", "first A+B, last A+B"}

// edgeVariants detects img as computed and, when its letterbox padding is
// a half pixel at scale 1, again with each combination of knife-edge half
// rows blacked out as the reference's GPU rounding does.
func edgeVariants(d *Detector, img image.Image) [][]frame.Face {
	got, err := d.DetectImage(img)
	if err != nil {
		panic(err)
	}
	out := [][]frame.Face{slices.Clone(got)}
	b := img.Bounds()
	w, h, s := b.Dx(), b.Dy(), d.size
	if max(w, h) != s || (s-min(w, h))%2 == 0 {
		return out
	}
	// The tensor as computed, before the model's plan reuses its buffer.
	d.lb.setup(w, h, s)
	base := make([]float32, s*s*3)
	d.lb.fillFunc(base, func(x, y int) (byte, byte, byte) {
		r, g, bl, _ := img.At(x+b.Min.X, y+b.Min.Y).RGBA()
		return byte(r >> 8), byte(g >> 8), byte(bl >> 8)
	})
	n := min(w, h)
	first := (s - n - 1) / 2 // the rows (or columns) whose sample lands on 0 and n
	last := first + n
	black := func(in []float32, line int, a, bb bool) {
		for k := 0; k < s; k++ {
			y, x := line, k
			if w < h { // padding left and right: knife-edge columns
				y, x = k, line
			}
			if inB := x+y >= s-1; inB && bb || !inB && a {
				copy(in[(y*s+x)*3:][:3], []float32{-1, -1, -1})
			}
		}
	}
	for _, v := range [][4]bool{ // first A, first B, last A, last B
		{true, false, false, false}, {false, true, false, false}, {true, true, false, false},
		{false, false, true, false}, {false, false, false, true}, {false, false, true, true},
		{true, false, false, true}, {false, true, true, false}, {true, true, true, true},
	} {
		in := d.ip.Input(0)
		copy(in, base)
		black(in, first, v[0], v[1])
		black(in, last, v[2], v[3])
		got, err := d.finish(nil)
		if err != nil {
			panic(err)
		}
		out = append(out, slices.Clone(got))
	}
	return out
}

// TestPhotos compares with MediaPipe on the full-size photos, where the
// resampler differs (Go's JPEG decoder and our bilinear vs the browser's).
func TestPhotos(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	for _, model := range []string{"short", "full"} {
		t.Run(model, func(t *testing.T) {
			var gold []goldLine
			for _, f := range []string{"testdata.jsonl", "demo.jsonl"} {
				gold = append(gold, readGolden(t, filepath.Join(model, f))...)
			}
			d := newDetector(t, model)
			var want, found, got, extra, skipped int
			var scoreDiffs, boxDiffs []float64
			for n, g := range gold {
				if raceEnabled && n%4 != 0 {
					continue // a quarter of the photos under -race
				}
				rel := g.File
				if strings.HasPrefix(rel, "npm:") {
					// demo photos: npm:@vladmandic/face-api@1.7.15/demo/x.jpg -> demo/x.jpg
					rel = "demo/" + filepath.Base(rel)
				}
				img, err := loadImage(sharedPath(t, rel))
				if err != nil {
					skipped++
					t.Logf("skipping %s: %v", g.File, err)
					continue
				}
				if b := img.Bounds(); b.Dx() != g.Width || b.Dy() != g.Height {
					t.Errorf("%s: decoded %v, MediaPipe saw %dx%d", g.File, b.Size(), g.Width, g.Height)
					continue
				}
				faces, err := d.DetectImage(img)
				if err != nil {
					t.Fatal(err)
				}
				want += len(g.Faces)
				got += len(faces)
				m := match(g.Faces, faces, 0.8)
				hit := make([]bool, len(faces))
				for i, j := range m {
					if j < 0 {
						t.Logf("%s: missed MediaPipe face %d (score %.3f)", g.File, i, g.Faces[i].Score)
						continue
					}
					found++
					hit[j] = true
					scoreDiffs = append(scoreDiffs, math.Abs(float64(faces[j].Score-g.Faces[i].Score)))
					boxDiffs = append(boxDiffs, maxDiff(g.Faces[i], faces[j])/float64(g.Faces[i].Box[2]))
				}
				for j, h := range hit {
					if !h {
						extra++
						t.Logf("%s: extra face %+v score %.3f", g.File, faces[j].Box, faces[j].Score)
					}
				}
				if strings.HasSuffix(g.File, "_noface/animal_dog_husky.jpg") && len(faces) == 0 {
					t.Errorf("%s: MediaPipe finds the husky, we do not", g.File)
				}
			}
			if want == 0 {
				t.Skip("no golden photos readable")
			}
			t.Logf("%s: %d MediaPipe faces, %d found at IoU ≥ 0.8 (%.1f%%), %d extra of %d (%.1f%%); %d photos skipped",
				model, want, found, 100*float64(found)/float64(want), extra, got, 100*float64(extra)/float64(want), skipped)
			t.Logf("%s: score difference median %.4f p90 %.4f; coordinate difference / box size median %.3f p90 %.3f",
				model, quantile(scoreDiffs, 0.5), quantile(scoreDiffs, 0.9), quantile(boxDiffs, 0.5), quantile(boxDiffs, 0.9))
			if float64(found) < 0.97*float64(want) {
				t.Errorf("found %d of %d MediaPipe faces, want ≥ 97%%", found, want)
			}
			if float64(extra) > 0.03*float64(want) {
				t.Errorf("%d extra faces for %d MediaPipe faces, want ≤ 3%%", extra, want)
			}
		})
	}
}

func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[int(q*float64(len(s)-1)+0.5)]
}
