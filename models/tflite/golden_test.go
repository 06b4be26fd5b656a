package tflite

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"facegate/internal/testenv"
)

// moduleRoot walks up from the package directory to go.mod.
func moduleRoot(t testing.TB) string {
	return testenv.ModuleRoot(t)
}

// goldenDir holds the real TFLite runtime's inputs and outputs: the copy in
// testdata/golden (the four models this runtime supports, copied from
// ../shared/golden/tflite, facts of a public runtime), else ../shared/golden
// from the module root; tests skip without either.
func goldenDir(t testing.TB) string {
	t.Helper()
	for _, d := range []string{
		filepath.Join(moduleRoot(t), "models", "tflite", "testdata", "golden"),
		filepath.Join(moduleRoot(t), "..", "shared", "golden"),
	} {
		if _, err := os.Stat(filepath.Join(d, "tflite")); err == nil {
			return d
		}
	}
	t.Skip("golden data not found in testdata/golden or ../shared/golden")
	return ""
}

// modelPath finds a model file: the shipped models/, this package's
// testdata/, the golden variants, or $FACEGATE_MODELS (for files the
// repository does not carry, such as FaceAntiSpoofing).
func modelPath(t testing.TB, name string) string {
	t.Helper()
	root := moduleRoot(t)
	cands := []string{
		filepath.Join(root, "models", name+".tflite"),
		filepath.Join(root, "models", "tflite", "testdata", name+".tflite"),
		filepath.Join(root, "..", "shared", "golden", "models", "variants", name+".tflite"),
	}
	if d := os.Getenv("FACEGATE_MODELS"); d != "" {
		cands = append(cands, filepath.Join(d, name+".tflite"))
	}
	for _, c := range cands {
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	return ""
}

func loadModel(t testing.TB, name string) *Model {
	t.Helper()
	p := modelPath(t, name)
	if p == "" {
		t.Skipf("model %s not found (set FACEGATE_MODELS to a folder holding it)", name)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(data)
	if err != nil {
		t.Fatalf("Load(%s): %v", name, err)
	}
	return m
}

func readF32(t testing.TB, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%4 != 0 {
		t.Fatalf("%s: %d bytes is not whole float32s", path, len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

type goldenMeta struct {
	Outputs []struct {
		Shape []int  `json:"shape"`
		File  string `json:"file"`
	} `json:"outputs"`
}

// compare checks got against want element by element with the golden
// tolerance and returns the worst |Δ| and the worst Δ relative to the bound.
func compare(t *testing.T, what string, got, want []float32) (worstAbs, worstRatio float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		bound := 1e-3 + 1e-3*math.Abs(float64(want[i]))
		if !(d <= bound) {
			if bad < 5 {
				t.Errorf("%s[%d] = %g, want %g (|Δ| %.3g > %.3g)", what, i, got[i], want[i], d, bound)
			}
			bad++
		}
		worstAbs = max(worstAbs, d)
		worstRatio = max(worstRatio, d/bound)
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values out of tolerance", what, bad, len(want))
	}
	return worstAbs, worstRatio
}

// TestGolden runs each model the runtime supports on the golden input and
// compares every output with TensorFlow Lite's.
func TestGolden(t *testing.T) {
	gd := goldenDir(t)
	for _, name := range []string{"face_detection_short_range", "face_detection_full_range",
		"face_detection_full_range_sparse", "MobileFaceNet"} {
		t.Run(name, func(t *testing.T) {
			m := loadModel(t, name)
			dir := filepath.Join(gd, "tflite", name)
			var meta goldenMeta
			b, err := os.ReadFile(filepath.Join(dir, "meta.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &meta); err != nil {
				t.Fatal(err)
			}
			ip, err := NewInterpreter(m, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer ip.Close()
			in := readF32(t, filepath.Join(dir, "input.f32"))
			if len(in) != len(ip.Input(0)) {
				t.Fatalf("golden input has %d values, model wants %d", len(in), len(ip.Input(0)))
			}
			copy(ip.Input(0), in)
			if err := ip.Invoke(); err != nil {
				t.Fatal(err)
			}
			for i, o := range meta.Outputs {
				want := readF32(t, filepath.Join(dir, o.File))
				abs, ratio := compare(t, o.File, ip.Output(i), want)
				t.Logf("%s: worst |Δ| %.3g, worst |Δ|/bound %.3g", o.File, abs, ratio)
			}
		})
	}
}

// TestPassesPreserveResults runs each model with and without the fusing
// passes: the unfused graph exercises the standalone operators (RELU, ABS,
// SUB, MUL, ADD, PAD) that the passes remove from the shipped models.
func TestPassesPreserveResults(t *testing.T) {
	// The dense full-range model has the same patterns as short-range.
	for _, name := range []string{"face_detection_short_range", "face_detection_full_range_sparse", "MobileFaceNet"} {
		t.Run(name, func(t *testing.T) {
			if testing.Short() && name == "MobileFaceNet" {
				t.Skip("-short: the biggest model's unfused graph is slow under emulation")
			}
			p := modelPath(t, name)
			if p == "" {
				t.Skipf("model %s not found", name)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var outs [2][]float32
			for k, fuse := range []bool{true, false} {
				m, err := load(data, fuse)
				if err != nil {
					t.Fatal(err)
				}
				if !fuse && len(m.nodes) <= len(loadModel(t, name).nodes) {
					t.Fatalf("unfused graph has %d nodes, no more than the fused one", len(m.nodes))
				}
				ip, err := NewInterpreter(m, Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer ip.Close()
				if name == "MobileFaceNet" {
					if err := ip.ResizeInput(0, []int{1, 112, 112, 3}); err != nil {
						t.Fatal(err)
					}
				}
				noiseInput(ip.Input(0), 127.5, 127.5)
				if err := ip.Invoke(); err != nil {
					t.Fatal(err)
				}
				for i := range m.Outputs() {
					outs[k] = append(outs[k], ip.Output(i)...)
				}
			}
			worst := 0.0
			for i, v := range outs[0] {
				d := math.Abs(float64(v - outs[1][i]))
				if d > 1e-4*(1+math.Abs(float64(v))) {
					t.Fatalf("[%d]: fused %g, unfused %g", i, v, outs[1][i])
				}
				worst = max(worst, d)
			}
			t.Logf("worst |Δ| fused vs unfused: %.3g", worst)
		})
	}
}
