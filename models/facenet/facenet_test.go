package facenet

import (
	"fmt"
	"image"
	_ "image/jpeg" // development photos
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"facegate/internal/testenv"
	"facegate/models/blazeface"
	"facegate/pipeline/frame"
)

// facesDir returns ../shared/testdata/faces (or $FACEGATE_TESTDATA/faces).
func facesDir(t testing.TB) string {
	return testenv.Testdata(t, "faces")
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

// bbt are the Big Bang Theory cast, whose photos are tight 150×150
// grayscale crops.
var bbt = map[string]bool{
	"Jim_Parsons": true, "Johnny_Galecki": true, "Kaley_Cuoco": true, "Kevin_Sussman": true,
	"Kunal_Nayyar": true, "Mayim_Bialik": true, "Melissa_Rauch": true, "Simon_Helberg": true,
}

type devFace struct {
	person, file string
	img          image.Image
	face         frame.Face
}

// devFaces detects the largest face of every identity photo (the _group
// and _noface folders are left out).
func devFaces(t testing.TB) []devFace {
	t.Helper()
	dir := facesDir(t)
	paths, _ := filepath.Glob(filepath.Join(dir, "*", "*.jpg"))
	if len(paths) == 0 {
		t.Skipf("no development photos in %s", dir)
	}
	return detectFaces(t, paths)
}

// detectFaces finds the largest face of each photo with the short-range
// detector, or the full-range one when the short one finds none (as it
// does for Jeffrey_Dean_Morgan/3, and MediaPipe too).
func detectFaces(t testing.TB, paths []string) []devFace {
	t.Helper()
	det, err := blazeface.New(blazeface.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	full, err := blazeface.New(blazeface.Options{Model: "full", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	var out []devFace
	for _, p := range paths {
		person := filepath.Base(filepath.Dir(p))
		if strings.HasPrefix(person, "_") {
			continue
		}
		img, err := loadImage(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		faces, err := det.DetectImage(img)
		if err == nil && len(faces) == 0 {
			faces, err = full.DetectImage(img)
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(faces) == 0 {
			t.Errorf("%s: no face", p)
			continue
		}
		best := faces[0]
		for _, f := range faces[1:] {
			if f.Box.Area() > best.Box.Area() {
				best = f
			}
		}
		out = append(out, devFace{person, person + "/" + filepath.Base(p), img, best})
	}
	return out
}

// verification holds the pair statistics of a set of embeddings.
type verification struct {
	genuine, impostor []float64
	acc, lo, hi       float64 // best accuracy and the threshold interval reaching it
}

func verify(sims []float64, same []bool) verification {
	var v verification
	for i, s := range sims {
		if same[i] {
			v.genuine = append(v.genuine, s)
		} else {
			v.impostor = append(v.impostor, s)
		}
	}
	sort.Float64s(v.genuine)
	sort.Float64s(v.impostor)
	// Candidate thresholds: every similarity (accept when sim ≥ threshold).
	all := slices.Concat(v.genuine, v.impostor)
	sort.Float64s(all)
	n := float64(len(all))
	for i, th := range all {
		acc := v.accuracyAt(th) / n
		switch {
		case acc > v.acc:
			v.acc, v.lo = acc, th
			v.hi = th
			if i+1 < len(all) {
				v.hi = all[i+1]
			}
		case acc == v.acc && th <= v.hi+1e-12:
			if i+1 < len(all) {
				v.hi = all[i+1]
			}
		}
	}
	// lo..hi: thresholds in [lo, next similarity) all give the best accuracy.
	v.lo = prevBelow(all, v.lo)
	return v
}

// accuracyAt counts the correct decisions at a threshold.
func (v verification) accuracyAt(th float64) float64 {
	ta := len(v.genuine) - sort.SearchFloat64s(v.genuine, th)
	tr := sort.SearchFloat64s(v.impostor, th)
	return float64(ta + tr)
}

// prevBelow returns the largest value below x in sorted s (or x − 0.01).
func prevBelow(s []float64, x float64) float64 {
	i := sort.SearchFloat64s(s, x)
	if i == 0 {
		return x - 0.01
	}
	return s[i-1]
}

// tarAt returns the true-accept rate at the strictest threshold that
// keeps false accepts at or below far, and that threshold.
func (v verification) tarAt(far float64) (float64, float64) {
	k := int(math.Floor(far * float64(len(v.impostor)))) // allowed false accepts
	th := v.impostor[len(v.impostor)-1-k]                // accept only above it
	acc := len(v.genuine) - sort.Search(len(v.genuine), func(i int) bool { return v.genuine[i] > th })
	return float64(acc) / float64(len(v.genuine)), th
}

func pairs(embs []frame.Embedding, faces []devFace, keep func(a, b devFace) bool) ([]float64, []bool) {
	var sims []float64
	var same []bool
	for i := range embs {
		for j := i + 1; j < len(embs); j++ {
			if keep != nil && !keep(faces[i], faces[j]) {
				continue
			}
			s, err := Similarity(embs[i], embs[j])
			if err != nil {
				panic(err)
			}
			sims = append(sims, float64(s))
			same = append(same, faces[i].person == faces[j].person)
		}
	}
	return sims, same
}

// TestDevPhotos runs the development photos through detection once and
// then checks verification and quality on them.
func TestDevPhotos(t *testing.T) {
	if testing.Short() {
		// -short is how the arm64 tests run under qemu, where one
		// MobileFaceNet run takes seconds; the batch test below still
		// checks the embeddings there.
		t.Skip("86 photos through MobileFaceNet: run without -short")
	}
	faces := devFaces(t)
	t.Run("verification", func(t *testing.T) { testVerification(t, faces) })
	t.Run("quality", func(t *testing.T) { testQuality(t, faces) })
	t.Run("groups", func(t *testing.T) { testGroupPhotos(t, faces) })
}

// testVerification calibrates DefaultThreshold on all same/different pairs
// of the development photos and checks the accuracy target.
func testVerification(t *testing.T, faces []devFace) {
	for _, mirror := range []bool{false, true} {
		if raceEnabled && mirror != defaultMirror {
			continue // ~10× slower under -race; the default configuration is enough
		}
		name := "plain"
		if mirror {
			name = "mirror-averaged"
		}
		t.Run(name, func(t *testing.T) {
			e, err := New(Options{Threads: 1, Mirror: mirror})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			var al Aligned
			embs := make([]frame.Embedding, len(faces))
			for i, f := range faces {
				embs[i], _, err = e.EmbedImage(f.img, f.face, &al)
				if err != nil {
					t.Fatal(err)
				}
			}
			sims, same := pairs(embs, faces, nil)
			v := verify(sims, same)
			tar2, th2 := v.tarAt(1e-2)
			tar3, th3 := v.tarAt(1e-3)
			mid := (v.lo + v.hi) / 2
			t.Logf("%s: %d faces, %d genuine and %d impostor pairs; best accuracy %.2f%% for thresholds in (%.3f, %.3f], middle %.3f",
				name, len(faces), len(v.genuine), len(v.impostor), 100*v.acc, v.lo, v.hi, mid)
			t.Logf("%s: TAR %.1f%% at FAR 1e-2 (threshold %.3f), %.1f%% at FAR 1e-3 (threshold %.3f); genuine min %.3f, impostor max %.3f",
				name, 100*tar2, th2, 100*tar3, th3, v.genuine[0], v.impostor[len(v.impostor)-1])
			def := v.accuracyAt(DefaultThreshold) / float64(len(sims))
			far := float64(len(v.impostor)-sort.SearchFloat64s(v.impostor, DefaultThreshold)) / float64(len(v.impostor))
			frr := float64(sort.SearchFloat64s(v.genuine, DefaultThreshold)) / float64(len(v.genuine))
			t.Logf("%s: at DefaultThreshold %.2f: accuracy %.2f%%, false accepts %.3f%%, false rejects %.2f%%",
				name, DefaultThreshold, 100*def, 100*far, 100*frr)
			bs, bsame := pairs(embs, faces, func(a, b devFace) bool { return bbt[a.person] && bbt[b.person] })
			bv := verify(bs, bsame)
			t.Logf("%s: Big Bang Theory grayscale crops alone: %d genuine / %d impostor pairs, best accuracy %.2f%%, at the default %.2f%%, genuine min %.3f, impostor max %.3f",
				name, len(bv.genuine), len(bv.impostor), 100*bv.acc, 100*bv.accuracyAt(DefaultThreshold)/float64(len(bs)),
				bv.genuine[0], bv.impostor[len(bv.impostor)-1])
			for i, f := range faces { // the worst genuine pairs, to read
				for j := i + 1; j < len(faces); j++ {
					if f.person == faces[j].person {
						if s, _ := Similarity(embs[i], embs[j]); float64(s) < DefaultThreshold {
							t.Logf("%s: rejected genuine pair %s – %s: %.3f", name, f.file, faces[j].file, s)
						}
					} else if s, _ := Similarity(embs[i], embs[j]); float64(s) >= DefaultThreshold {
						t.Logf("%s: accepted impostor pair %s – %s: %.3f", name, f.file, faces[j].file, s)
					}
				}
			}
			if mirror != defaultMirror {
				return
			}
			if v.acc < 0.99 {
				t.Errorf("best verification accuracy %.2f%%, want ≥ 99%%", 100*v.acc)
			}
			if def < 0.99 {
				t.Errorf("accuracy at DefaultThreshold %.2f%%, want ≥ 99%%", 100*def)
			}
			if math.Abs(DefaultThreshold-mid) > 0.05 {
				t.Errorf("DefaultThreshold %.2f has drifted from the middle of the best interval %.3f", DefaultThreshold, mid)
			}
		})
	}
}

// defaultMirror is whether the configuration the CLI uses averages with
// the mirror image.
var defaultMirror = Options{}.Mirror

func TestEmbedBatchAgrees(t *testing.T) {
	dir := facesDir(t)
	var paths []string
	for _, p := range []string{"Jack_Dorsey/1.jpg", "Katy_Perry/2.jpg", "Jim_Parsons/1.jpg"} {
		paths = append(paths, filepath.Join(dir, p))
	}
	if _, err := os.Stat(paths[0]); err != nil {
		t.Skipf("development photos absent: %v", err)
	}
	faces := detectFaces(t, paths)
	e, err := New(Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	al := make([]*Aligned, len(faces))
	single := make([]frame.Embedding, len(faces))
	for i, f := range faces {
		single[i], al[i], err = e.EmbedImage(f.img, f.face, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(single[i].Vector) != frame.EmbeddingDim {
			t.Fatalf("embedding of %d floats", len(single[i].Vector))
		}
		if n := sumSquares(single[i].Vector); math.Abs(n-1) > 1e-4 {
			t.Errorf("embedding norm² %v, want 1", n)
		}
		if single[i].Model != e.Model() || !strings.HasPrefix(e.Model(), "MobileFaceNet@d8ba40c0127f") {
			t.Errorf("model id %q / %q", single[i].Model, e.Model())
		}
	}
	vec := make([]float32, frame.EmbeddingDim)
	if err := e.EmbedTo(al[0], vec); err != nil {
		t.Fatal(err)
	}
	if s := frame.Cosine(vec, single[0].Vector); s < 0.9999 {
		t.Errorf("EmbedTo and Embed differ (cosine %v)", s)
	}
	if n := testing.AllocsPerRun(3, func() { _ = e.EmbedTo(al[0], vec) }); n != 0 {
		t.Errorf("EmbedTo allocates %v times per call", n)
	}
	if err := e.EmbedTo(al[0], vec[:10]); err == nil {
		t.Error("EmbedTo into 10 floats: no error")
	}
	// Cameras share one Embedder: concurrent calls (and batches, which
	// resize the interpreter) must each get their own face's embedding.
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			v := make([]float32, frame.EmbeddingDim)
			for r := range 6 {
				i := (g + r) % len(al)
				if g == 3 {
					b, err := e.EmbedBatch(al)
					if err != nil || frame.Cosine(b[i].Vector, single[i].Vector) < 0.9999 {
						t.Errorf("concurrent batch: face %d differs (%v)", i, err)
					}
					continue
				}
				if err := e.EmbedTo(al[i], v); err != nil || frame.Cosine(v, single[i].Vector) < 0.9999 {
					t.Errorf("concurrent EmbedTo: face %d differs (%v)", i, err)
				}
			}
		})
	}
	wg.Wait()
	batch, err := e.EmbedBatch(al)
	if err != nil {
		t.Fatal(err)
	}
	for i := range batch {
		if s := frame.Cosine(batch[i].Vector, single[i].Vector); s < 0.9999 {
			t.Errorf("face %d: batch and single embeddings differ (cosine %v)", i, s)
		}
	}
	// More faces than one model run takes: run in chunks, same answers.
	var many []*Aligned
	for len(many) < maxBatch+3 {
		many = append(many, al...)
	}
	chunked, err := e.EmbedBatch(many)
	if err != nil {
		t.Fatal(err)
	}
	for i := range chunked {
		if s := frame.Cosine(chunked[i].Vector, single[i%len(al)].Vector); s < 0.9999 {
			t.Errorf("chunked face %d: cosine %v with its single embedding", i, s)
		}
	}
	if s, _ := Similarity(single[0], single[1]); s > 0.999 {
		t.Errorf("two photos give the same embedding (%v)", s)
	}
	// The aligned face is an image of the right size.
	if b := al[0].Image().Bounds(); b.Dx() != Size || b.Dy() != Size {
		t.Errorf("aligned image %v", b)
	}
	other := single[0]
	other.Model = "OtherNet@000000000000"
	if _, err := Similarity(single[0], other); err == nil {
		t.Error("comparing embeddings of different models: no error")
	}
	e.Close()
	e.Close()
	if _, err := e.Embed(al[0]); err != ErrClosed {
		t.Errorf("closed embedder: %v", err)
	}
}

// testQuality rates the development photos: frontal photos of decent size
// pass; the reasons of the others are printed.
func testQuality(t *testing.T, faces []devFace) {
	ok := 0
	var al Aligned
	for _, f := range faces {
		if _, err := Align(f.img, f.face, &al); err != nil {
			t.Fatal(err)
		}
		q := Assess(f.face, &al)
		if q.OK {
			ok++
		} else {
			t.Logf("%s: %s", f.file, q.Reason)
		}
		if q.Score < 0 || q.Score > 1 || math.IsNaN(float64(q.Score)) {
			t.Errorf("%s: quality score %v", f.file, q.Score)
		}
	}
	t.Logf("%d of %d development faces good enough to enroll", ok, len(faces))
	// Sharpness of the photos and of the same crops blurred by Gaussians.
	for _, sigma := range []float64{0, 1, 1.5, 2, 3} {
		if raceEnabled && sigma != 0 && sigma != 3 {
			continue
		}
		var v []float64
		for _, f := range faces {
			if _, err := Align(f.img, f.face, &al); err != nil {
				t.Fatal(err)
			}
			if sigma > 0 {
				gaussBlur(&al, sigma)
			}
			v = append(v, laplacianVariance(&al))
		}
		sort.Float64s(v)
		t.Logf("blur σ=%.1f: sharpness min %.1f, median %.1f, max %.1f", sigma, v[0], v[len(v)/2], v[len(v)-1])
		if sigma == 0 && v[0] < MinSharpness {
			t.Errorf("a development photo rates as blurred (%.1f < %d)", v[0], MinSharpness)
		}
		if sigma == 3 && v[len(v)-1] >= MinSharpness {
			t.Errorf("a face blurred by σ=3 px still rates as sharp (%.1f ≥ %d)", v[len(v)-1], MinSharpness)
		}
	}
	if ok < len(faces)/2 {
		t.Errorf("only %d of %d curated portraits pass", ok, len(faces))
	}
}

func BenchmarkAlignEmbed(b *testing.B) {
	img, err := loadImage(filepath.Join(facesDir(b), "Jack_Dorsey", "1.jpg"))
	if err != nil {
		b.Skip(err)
	}
	det, err := blazeface.New(blazeface.Options{})
	if err != nil {
		b.Fatal(err)
	}
	faces, _ := det.DetectImage(img)
	det.Close()
	if len(faces) == 0 {
		b.Fatal("no face")
	}
	for _, threads := range []int{1, 2} {
		for _, mirror := range []bool{false, true} {
			b.Run(fmt.Sprintf("threads=%d/mirror=%v", threads, mirror), func(b *testing.B) {
				e, err := New(Options{Threads: threads, Mirror: mirror})
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				var al Aligned
				b.ReportAllocs()
				for b.Loop() {
					if _, _, err := e.EmbedImage(img, faces[0], &al); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// gaussBlur blurs an aligned face in place with a Gaussian of the given σ
// (edges clamped).
func gaussBlur(a *Aligned, sigma float64) {
	r := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*r+1)
	var sum float64
	for i := range k {
		x := float64(i - r)
		k[i] = math.Exp(-x * x / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	var tmp [Size * Size * 3]float64
	at := func(x, y, c int) float64 {
		x, y = min(max(x, 0), Size-1), min(max(y, 0), Size-1)
		return float64(a.Pix[(y*Size+x)*3+c])
	}
	for y := 0; y < Size; y++ {
		for x := 0; x < Size; x++ {
			for c := 0; c < 3; c++ {
				var s float64
				for i, w := range k {
					s += w * at(x+i-r, y, c)
				}
				tmp[(y*Size+x)*3+c] = s
			}
		}
	}
	for y := 0; y < Size; y++ {
		for x := 0; x < Size; x++ {
			for c := 0; c < 3; c++ {
				var s float64
				for i, w := range k {
					yy := min(max(y+i-r, 0), Size-1)
					s += w * tmp[(yy*Size+x)*3+c]
				}
				a.Pix[(y*Size+x)*3+c] = byte(s + 0.5)
			}
		}
	}
}

// BenchmarkAlignFrame is the warp alone on a 640×480 camera frame.
func BenchmarkAlignFrame(b *testing.B) {
	fr := &frame.Frame{Width: 640, Height: 480, Stride: 1920, Format: frame.BGR, Pix: make([]byte, 1920*480)}
	for i := range fr.Pix {
		fr.Pix[i] = byte(i * 31)
	}
	f := faceAt(2, 0.1, 200, 100)
	var al Aligned
	b.ReportAllocs()
	for b.Loop() {
		if _, err := AlignFrame(fr, f, &al); err != nil {
			b.Fatal(err)
		}
	}
}
