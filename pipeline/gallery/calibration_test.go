package gallery

import (
	"fmt"
	"image"
	_ "image/jpeg" // the development photos
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
	"facegate/models/facenet"
)

// facesDir is ../shared/testdata/faces (or $FACEGATE_TESTDATA/faces).
func facesDir(t testing.TB) string {
	return filepath.Dir(testenv.Testdata(t, "faces", "MANIFEST.tsv"))
}

// devFace is one development photo's face.
type devFace struct {
	person, file string
	emb          []float32
	poor         string // why the quality gate would refuse it
}

// devPhoto is one development photo.
type devPhoto struct {
	person, file string
	img          image.Image
}

func loadPhotos(t testing.TB) []devPhoto {
	dir := facesDir(t)
	people, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []devPhoto
	for _, p := range people {
		if !p.IsDir() || strings.HasPrefix(p.Name(), "_") {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(dir, p.Name(), "*.jpg"))
		sort.Strings(files)
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			img, _, err := image.Decode(fh)
			fh.Close()
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, devPhoto{p.Name(), filepath.Base(f), img})
		}
	}
	return out
}

var (
	devOnce  sync.Once
	devCache []devFace
	devErr   error
	devMiss  []string
)

// devFaces embeds the largest face of every single-person development
// photo with the real models, once per test binary.
func devFaces(t *testing.T) ([]devFace, []string) {
	t.Helper()
	photos := loadPhotos(t)
	devOnce.Do(func() {
		det, err := blazeface.New(blazeface.Options{})
		if err != nil {
			devErr = err
			return
		}
		defer det.Close()
		emb, err := facenet.New(facenet.Options{})
		if err != nil {
			devErr = err
			return
		}
		defer emb.Close()
		svc := &Service{vision: &ModelVision{Det: det, Emb: emb}}
		for _, p := range photos {
			faces, src, err := svc.findFaces(p.img)
			if err != nil {
				devErr = err
				return
			}
			if len(faces) == 0 {
				devMiss = append(devMiss, p.person+"/"+p.file)
				continue
			}
			f := faces[0]
			for _, g := range faces[1:] {
				if g.Box.Area() > f.Box.Area() {
					f = g
				}
			}
			d, err := svc.vision.Describe(src.img, f)
			if err != nil {
				devErr = err
				return
			}
			devCache = append(devCache, devFace{p.person, p.file, d.Embedding.Vector, d.Poor})
		}
	})
	if devErr != nil {
		t.Fatal(devErr)
	}
	return devCache, devMiss
}

// openSet is what a leave-one-person-out run measured.
type openSet struct {
	genuine  []scored  // enrolled people's other photos
	stranger []float32 // best similarity of the left-out person's photos
	people   int       // gallery size of each fold
	// impostor holds the left-out person's similarity to every enrolled
	// person (not only the best): 18 times more data for the tail.
	impostor []float64
}

type scored struct {
	sim     float32
	correct bool // the most similar person is the right one
}

// leaveOneOut enrolls the first `per` photos of every person but one,
// matches everyone's remaining photos, and the left-out person's photos as
// strangers, for each person in turn.
func leaveOneOut(faces []devFace, mode Mode, per int) openSet {
	byPerson := map[string][]devFace{}
	var names []string
	for _, f := range faces {
		if byPerson[f.person] == nil {
			names = append(names, f.person)
		}
		byPerson[f.person] = append(byPerson[f.person], f)
	}
	var res openSet
	for _, out := range names {
		var d Data
		var probes []devFace
		for _, n := range names {
			if n == out {
				continue
			}
			fs := byPerson[n]
			k := min(per, len(fs)-1) // keep at least one photo to probe with
			d.People = append(d.People, Person{ID: n, Name: n})
			for _, f := range fs[:k] {
				d.Samples = append(d.Samples, Sample{PersonID: n, Embedding: emb(f.emb)})
			}
			probes = append(probes, fs[k:]...)
		}
		s := Build(d, testModel, Policy{Mode: mode, Base: 0.5, Slope: 0})
		res.people = len(d.People)
		for _, f := range probes {
			r := s.Match(emb(f.emb))
			res.genuine = append(res.genuine, scored{r.Similarity, r.Nearest == f.person})
		}
		for _, f := range byPerson[out] {
			res.stranger = append(res.stranger, s.Match(emb(f.emb)).Similarity)
			for _, p := range d.People {
				res.impostor = append(res.impostor, float64(personScore(s, f.emb, p.ID)))
			}
		}
	}
	return res
}

func (o openSet) rank1() float64 {
	n := 0
	for _, g := range o.genuine {
		if g.correct {
			n++
		}
	}
	return float64(n) / float64(len(o.genuine))
}

// personScore is the similarity of v to one person under the snapshot's mode.
func personScore(s *Snapshot, v []float32, id string) float32 {
	vecs, owner := s.vecs, s.owner
	if s.policy.Mode == Centroid {
		vecs, owner = s.cents, s.centOwn
	}
	best := float32(-2)
	for i, o := range owner {
		if s.people[o].ID == id {
			best = max(best, dot(v, vecs[i*s.dim:(i+1)*s.dim]))
		}
	}
	return best
}

// gaussTail models the impostor scores as a Gaussian and returns the
// threshold that names a share alpha of strangers facing n people: each
// person is crossed with probability q where 1-(1-q)^n = alpha.
func (o openSet) gaussTail(alpha float64, n int) float32 {
	var m, m2 float64
	for _, x := range o.impostor {
		m += x
		m2 += x * x
	}
	k := float64(len(o.impostor))
	m /= k
	sd := math.Sqrt(m2/k - m*m)
	q := 1 - math.Pow(1-alpha, 1/float64(n))
	return float32(m + sd*math.Sqrt2*math.Erfinv(1-2*q))
}

// gaussFPIR is the share of strangers the Gaussian impostor model expects
// to be named at threshold th facing n people.
func (o openSet) gaussFPIR(th float32, n int) float64 {
	var m, m2 float64
	for _, x := range o.impostor {
		m += x
		m2 += x * x
	}
	k := float64(len(o.impostor))
	m /= k
	sd := math.Sqrt(m2/k - m*m)
	q := 0.5 * math.Erfc((float64(th)-m)/(sd*math.Sqrt2))
	return 1 - math.Pow(1-q, float64(n))
}

// thresholdAt returns the lowest threshold that names at most share of
// the strangers.
func (o openSet) thresholdAt(share float64) float32 {
	s := slices.Clone(o.stranger)
	slices.Sort(s)
	slices.Reverse(s)
	k := int(math.Floor(share * float64(len(s)))) // strangers allowed above
	if k >= len(s) {
		return -1
	}
	return math.Nextafter32(s[k], 2)
}

// named returns the share of strangers named and of enrolled people named
// correctly at threshold th.
func (o openSet) named(th float32) (strangers, people float64) {
	for _, s := range o.stranger {
		if s >= th {
			strangers++
		}
	}
	for _, g := range o.genuine {
		if g.correct && g.sim >= th {
			people++
		}
	}
	return strangers / float64(len(o.stranger)), people / float64(len(o.genuine))
}

// TestOpenSetCalibration measures identification on the development photos
// with the real models, leaving each person out of the gallery in turn, and
// checks the default decision rule against it:
//
//   - rank-1 accuracy and the share of enrolled people named correctly when
//     1 % and 5 % of strangers are named (empirical thresholds), as the
//     issue asks, with one photo enrolled per person;
//   - the base of the rule, fitted as the threshold that names 1 % of
//     strangers facing this gallery under a Gaussian model of the impostor
//     scores (every stranger against every person: 18× more scores than
//     the 85 "best" ones, so the tail is not the single worst lookalike),
//     minus the slope's rise to 18 people;
//   - best-sample against centroid with 2 and 3 photos enrolled per person,
//     at the thresholds that name 1 % of strangers facing 100 and 422
//     people: the default mode must be the better one.
func TestOpenSetCalibration(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the face models over the development photos")
	}
	faces, missed := devFaces(t)
	t.Logf("%d photos embedded; no face found in %d: %v", len(faces), len(missed), missed)
	if len(faces) < 60 {
		t.Fatalf("only %d development photos gave a face", len(faces))
	}
	def := DefaultPolicy()

	one := leaveOneOut(faces, def.Mode, 1)
	t1, t5 := one.thresholdAt(0.01), one.thresholdAt(0.05)
	s1, p1 := one.named(t1)
	s5, p5 := one.named(t5)
	th := def.Threshold(one.people)
	sd, pd := one.named(th)
	t.Logf("one photo per person, %d people per fold: rank-1 %.1f%% over %d probes; %d stranger photos",
		one.people, 100*one.rank1(), len(one.genuine), len(one.stranger))
	t.Logf("  ≤1%% strangers named (t=%.3f, %.1f%% named): people named %.1f%%", t1, 100*s1, 100*p1)
	t.Logf("  ≤5%% strangers named (t=%.3f, %.1f%% named): people named %.1f%%", t5, 100*s5, 100*p5)
	t.Logf("  default rule (t=%.3f): strangers named %.1f%% (%.0f of %d), people named %.1f%%",
		th, 100*sd, sd*float64(len(one.stranger)), len(one.stranger), 100*pd)
	if r := one.rank1(); r < 0.9 {
		t.Errorf("rank-1 %.1f%% below 90%%", 100*r)
	}
	if pd < 0.9 {
		t.Errorf("the default rule names only %.1f%% of enrolled people", 100*pd)
	}
	// 85 stranger photos: 1 % is less than one photo; allow one lookalike
	// more, and the fit below checks the rule against the tail.
	if sd > 2.5/float64(len(one.stranger)) {
		t.Errorf("the default rule names %.1f%% of strangers", 100*sd)
	}
	fitted := one.gaussTail(0.01, one.people) - def.Slope*float32(math.Log(float64(one.people)))
	t.Logf("  fitted base %.3f (DefaultBase %.3f)", fitted, float32(DefaultBase))
	var pred []string
	for _, n := range []int{1, 5, 18, 50, 100, 422} {
		pred = append(pred, fmt.Sprintf("N=%d t=%.3f %.2f%%", n, def.Threshold(n), 100*one.gaussFPIR(def.Threshold(n), n)))
	}
	t.Logf("  strangers named by the default rule, Gaussian model of these photos: %s", strings.Join(pred, ", "))
	if math.Abs(float64(fitted-DefaultBase)) > 0.02 {
		t.Errorf("the fitted base %.3f has drifted from DefaultBase %.3f: recalibrate", fitted, DefaultBase)
	}

	score := map[Mode]float64{}
	for _, per := range []int{2, 3} {
		for _, mode := range []Mode{BestSample, Centroid} {
			o := leaveOneOut(faces, mode, per)
			var line []string
			for _, n := range []int{18, 100, 422} {
				g := o.gaussTail(0.01, n)
				_, d := o.named(g)
				if n > 18 {
					score[mode] += d
				}
				line = append(line, fmt.Sprintf("N=%d t=%.3f people %.1f%%", n, g, 100*d))
			}
			t.Logf("%-11v %d photos/person: rank-1 %.1f%%; at 1%% strangers: %s", mode, per, 100*o.rank1(), strings.Join(line, ", "))
		}
	}
	if score[def.Mode] < score[BestSample] || score[def.Mode] < score[Centroid] {
		t.Errorf("default mode %v is not the better one: %v", def.Mode, score)
	}
}
