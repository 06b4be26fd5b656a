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
// only float noise should separate two faithful implementations.
//
// When the letterbox padding is a whole number of pixels the input tensor
// is an exact copy and every face must agree: same faces, coordinates
// within 0.5 px, scores within 0.01. When it is a half pixel (the short
// side has odd length) every row is interpolated half way; there 8 of 47
// images move by up to ~0.035 in score (one face near 0.5 is lost). The
// real TFLite runtime gives the same outputs as ours on our tensor, and
// the 32 other edge rules tried (strict/inclusive per side, OpenCV-style
// zero neighbours) did worse, so the browser's resampler differs in a way
// we cannot reproduce; those images get looser bounds and are reported.
func TestTensorScale(t *testing.T) {
	for _, tc := range []struct{ model, file string }{
		{"short", "tensor-scale/short128.jsonl"},
		{"full", "tensor-scale/full192.jsonl"},
	} {
		t.Run(tc.model, func(t *testing.T) {
			gold := readGolden(t, tc.file)
			d := newDetector(t, tc.model)
			type tally struct{ images, faces, exact, sameCount, nearPos, nearScore int }
			var whole, half tally
			var worstPos, worstScore float64
			for i, g := range gold {
				if testing.Short() && i%6 != 0 {
					continue // -short (arm64 under qemu): a sixth of the images
				}
				img, err := loadImage(sharedPath(t, g.File))
				if err != nil {
					t.Fatalf("%s: %v", g.File, err)
				}
				got, err := d.DetectImage(img)
				if err != nil {
					t.Fatal(err)
				}
				odd := (max(g.Width, g.Height)-min(g.Width, g.Height))%2 == 1
				tl := &whole
				if odd {
					tl = &half
				}
				tl.images++
				if len(got) == len(g.Faces) {
					tl.sameCount++
				} else {
					t.Logf("%s: %d faces, MediaPipe %d", g.File, len(got), len(g.Faces))
				}
				m := match(g.Faces, got, 0.5)
				for i, j := range m {
					tl.faces++
					if j < 0 {
						t.Logf("%s: MediaPipe face %d (score %.3f) unmatched", g.File, i, g.Faces[i].Score)
						continue
					}
					pos := maxDiff(g.Faces[i], got[j])
					ds := math.Abs(float64(got[j].Score - g.Faces[i].Score))
					worstPos, worstScore = math.Max(worstPos, pos), math.Max(worstScore, ds)
					if pos <= 0.5 {
						tl.nearPos++
					}
					if ds <= 0.01 {
						tl.nearScore++
					}
					if pos > 0.5 || ds > 0.01 {
						t.Logf("%s face %d: score %.4f (MediaPipe %.4f), coordinates within %.3f px", g.File, i, got[j].Score, g.Faces[i].Score, pos)
					}
					if !odd && (pos > 0.5 || ds > 0.01) || pos > 2 || ds > 0.05 {
						t.Errorf("%s face %d: score %.4f (MediaPipe %.4f), coordinates within %.3f px", g.File, i, got[j].Score, g.Faces[i].Score, pos)
					}
				}
			}
			for _, x := range []struct {
				name string
				tl   tally
			}{{"whole-pixel padding", whole}, {"half-pixel padding", half}} {
				t.Logf("%s, %s: %d images (%d with MediaPipe's number of faces), %d MediaPipe faces: %d within 0.5 px, %d within 0.01 in score",
					tc.model, x.name, x.tl.images, x.tl.sameCount, x.tl.faces, x.tl.nearPos, x.tl.nearScore)
			}
			t.Logf("%s: worst %.3f px, %.4f in score", tc.model, worstPos, worstScore)
			if whole.sameCount != whole.images || whole.nearPos != whole.faces || whole.nearScore != whole.faces {
				t.Errorf("whole-pixel padding must agree exactly: %+v", whole)
			}
			if half.images-half.sameCount > 1 {
				t.Errorf("half-pixel padding: %d of %d images with another number of faces", half.images-half.sameCount, half.images)
			}
		})
	}
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
