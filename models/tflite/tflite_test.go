package tflite

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func newIP(t testing.TB, m *Model, threads int) *Interpreter {
	t.Helper()
	ip, err := NewInterpreter(m, Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ip.Close)
	return ip
}

// TestMobileFaceNetBatch1 resizes the batch-2 MobileFaceNet to one face: it
// must match the golden output's halves, the batch-1 variant of the file,
// and cost half the work.
func TestMobileFaceNetBatch1(t *testing.T) {
	gd := goldenDir(t)
	m := loadModel(t, "MobileFaceNet")
	in := readF32(t, filepath.Join(gd, "tflite", "MobileFaceNet", "input.f32"))
	want := readF32(t, filepath.Join(gd, "tflite", "MobileFaceNet", "output_0.f32"))
	ip := newIP(t, m, 1)
	macs2 := ip.MACs()
	if err := ip.ResizeInput(0, []int{1, 112, 112, 3}); err != nil {
		t.Fatal(err)
	}
	if got := ip.OutputShape(0); !slices.Equal(got, []int{1, 192}) {
		t.Fatalf("output shape %v, want [1 192]", got)
	}
	if 2*ip.MACs() != macs2 {
		t.Errorf("batch 1 costs %d MACs, batch 2 %d: want half", ip.MACs(), macs2)
	}
	per := 112 * 112 * 3
	var resized [2][]float32
	for face := range 2 {
		copy(ip.Input(0), in[face*per:(face+1)*per])
		if err := ip.Invoke(); err != nil {
			t.Fatal(err)
		}
		resized[face] = slices.Clone(ip.Output(0))
		abs, _ := compare(t, "face", resized[face], want[face*192:(face+1)*192])
		t.Logf("face %d: worst |Δ| vs golden %.3g", face, abs)
	}

	p := modelPath(t, "MobileFaceNet_batch1")
	if p == "" {
		t.Skip("MobileFaceNet_batch1.tflite not found in ../shared/golden/models/variants")
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	m1, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	ip1 := newIP(t, m1, 1)
	if ip1.MACs() != ip.MACs() {
		t.Errorf("batch-1 file costs %d MACs, resized model %d", ip1.MACs(), ip.MACs())
	}
	for face := range 2 {
		copy(ip1.Input(0), in[face*per:(face+1)*per])
		if err := ip1.Invoke(); err != nil {
			t.Fatal(err)
		}
		for i, v := range ip1.Output(0) {
			if d := math.Abs(float64(v - resized[face][i])); d > 1e-5 {
				t.Fatalf("face %d [%d]: batch-1 file %g, resized %g", face, i, v, resized[face][i])
			}
		}
	}
}

// TestThreadsAgree runs each model with 1 and 3 threads.
func TestThreadsAgree(t *testing.T) {
	for _, name := range []string{"face_detection_short_range", "face_detection_full_range_sparse", "MobileFaceNet"} {
		t.Run(name, func(t *testing.T) {
			if testing.Short() && name == "MobileFaceNet" {
				t.Skip("-short: the detectors keep the check")
			}
			m := loadModel(t, name)
			ips := []*Interpreter{newIP(t, m, 1), newIP(t, m, 3)}
			var outs [][]float32
			for _, ip := range ips {
				if name == "MobileFaceNet" {
					if err := ip.ResizeInput(0, []int{1, 112, 112, 3}); err != nil {
						t.Fatal(err)
					}
				}
				noiseInput(ip.Input(0), 127.5, 127.5)
				if err := ip.Invoke(); err != nil {
					t.Fatal(err)
				}
				var all []float32
				for i := range m.Outputs() {
					all = append(all, ip.Output(i)...)
				}
				outs = append(outs, all)
			}
			for i, v := range outs[0] {
				w := outs[1][i]
				if d := math.Abs(float64(v - w)); d > 1e-5*max(1, math.Abs(float64(v))) {
					t.Fatalf("[%d]: 1 thread %g, 3 threads %g", i, v, w)
				}
			}
		})
	}
}

// TestUnsupported expects a clear error naming the operators the runtime
// lacks.
func TestUnsupported(t *testing.T) {
	cases := map[string][]string{
		"pnet_320x240":     {"NEG", "REDUCE_MAX"},
		"rnet":             {"FULLY_CONNECTED"},
		"onet":             {"FULLY_CONNECTED"},
		"FaceAntiSpoofing": {"LEAKY_RELU", "FULLY_CONNECTED"},
	}
	for name, ops := range cases {
		t.Run(name, func(t *testing.T) {
			p := modelPath(t, name)
			if p == "" {
				t.Skipf("%s.tflite not found (set FACEGATE_MODELS to a folder holding it)", name)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Load(data)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, op := range ops {
				if !strings.Contains(err.Error(), "unsupported operator") || !strings.Contains(err.Error(), op) {
					t.Errorf("error %q does not name unsupported operator %s", err, op)
				}
			}
		})
	}
	t.Run("patched", func(t *testing.T) {
		data := slices.Clone(shippedModel(t, "face_detection_short_range"))
		// Rewrite operator code 0's deprecated code to LEAKY_RELU (98).
		b := fbuf(data)
		oc := b.table(b.deref(0)).vec(1, 4).table(0)
		p := oc.field(0, 1)
		if p == 0 {
			t.Fatal("opcode 0 has no deprecated_builtin_code field")
		}
		data[p] = 98
		if bc := oc.field(3, 4); bc != 0 {
			data[bc], data[bc+1], data[bc+2], data[bc+3] = 0, 0, 0, 0
		}
		_, err := Load(data)
		if err == nil || !strings.Contains(err.Error(), "unsupported operator LEAKY_RELU") {
			t.Fatalf("Load: %v, want unsupported operator LEAKY_RELU", err)
		}
	})
}

func shippedModel(t testing.TB, name string) []byte {
	t.Helper()
	p := filepath.Join(moduleRoot(t), "models", name+".tflite")
	data, err := os.ReadFile(p)
	if err != nil {
		t.Skipf("shipped model missing: %v", err)
	}
	return data
}

// TestLoadHostile feeds truncated and corrupted files: errors, no panics.
func TestLoadHostile(t *testing.T) {
	for _, bad := range [][]byte{nil, {}, []byte("TFL3"), []byte("\x08\x00\x00\x00TFL3"),
		[]byte("\x00\x00\x00\x00XXXX\x00\x00\x00\x00"), make([]byte, 64)} {
		if _, err := Load(bad); err == nil {
			t.Errorf("Load(%q) succeeded", bad)
		}
	}
	data := shippedModel(t, "face_detection_short_range")
	for _, n := range []int{8, 16, 100, 1000, len(data) / 2, len(data) - 1} {
		if _, err := Load(data[:n]); err == nil {
			t.Errorf("Load of the first %d bytes succeeded", n)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ok := 0
	for range 50 {
		d := slices.Clone(data)
		for range 1 + rng.IntN(8) {
			d[rng.IntN(len(d))] ^= 1 << rng.IntN(8)
		}
		if m, err := Load(d); err == nil {
			ok++
			_ = m.Stats()
		}
	}
	t.Logf("%d of 50 corrupted files still loaded", ok)
}

// TestResizeInputErrors: a bad shape is refused and changes nothing.
func TestResizeInputErrors(t *testing.T) {
	m := loadModel(t, "MobileFaceNet")
	ip := newIP(t, m, 1)
	if err := ip.ResizeInput(0, []int{1, 112, 112, 3}); err != nil {
		t.Fatal(err)
	}
	before := ip.InputShape(0)
	for _, s := range [][]int{{1, 112, 112}, {0, 112, 112, 3}, {1, 16, 16, 3}, {1, 112, 112, 4}} {
		if err := ip.ResizeInput(0, s); err == nil {
			t.Errorf("ResizeInput(%v) succeeded", s)
		}
	}
	if err := ip.ResizeInput(1, before); err == nil {
		t.Error("ResizeInput of a missing input succeeded")
	}
	if got := ip.InputShape(0); !slices.Equal(got, before) {
		t.Errorf("shape changed to %v after failed resizes", got)
	}
	if len(ip.Input(0)) != 112*112*3 {
		t.Errorf("input buffer has %d values", len(ip.Input(0)))
	}
	if err := ip.Invoke(); err != nil {
		t.Fatal(err)
	}
}

// TestStats checks the counts and the graph passes on the shipped models.
func TestStats(t *testing.T) {
	s := loadModel(t, "MobileFaceNet").Stats()
	if s.MACs != 468210688 {
		t.Errorf("MobileFaceNet MACs %d, want 468210688", s.MACs)
	}
	if s.Ops["ABS"] != 33 || s.Ops["CONV_2D"] != 35 {
		t.Errorf("MobileFaceNet ops %v", s.Ops)
	}
	if s.Steps["ABS"]+s.Steps["SUB"]+s.Steps["MUL"]+s.Steps["RELU"]+s.Steps["PRELU"] != 0 {
		t.Errorf("PReLU patterns left unfused: %s", s.StepsString())
	}
	if s.Steps["CONV_2D+PRELU"]+s.Steps["DEPTHWISE_CONV_2D+PRELU"] != 33 {
		t.Errorf("want 33 convolutions with PReLU: %s", s.StepsString())
	}
	if s.Steps["CONV_2D+ADD"] == 0 {
		t.Errorf("no residual ADD fused: %s", s.StepsString())
	}
	if s.Params != 1292992 {
		t.Errorf("MobileFaceNet params %d, want 1292992", s.Params)
	}

	s = loadModel(t, "face_detection_full_range_sparse").Stats()
	if s.MACs != 117188352 || s.Ops["DENSIFY"] != 46 {
		t.Errorf("sparse: MACs %d, ops %v", s.MACs, s.Ops)
	}
	if s.Steps["PAD"] != 0 || s.Steps["DEQUANTIZE"] != 0 || s.Steps["DENSIFY"] != 0 {
		t.Errorf("sparse: PAD, DEQUANTIZE or DENSIFY left: %s", s.StepsString())
	}
	s = loadModel(t, "face_detection_short_range").Stats()
	if s.MACs != 30760960 || s.Steps["RELU"] != 0 {
		t.Errorf("short: MACs %d, steps %s", s.MACs, s.StepsString())
	}
	if in := loadModel(t, "face_detection_short_range").Inputs(); len(in) != 1 || !slices.Equal(in[0].Shape, []int{1, 128, 128, 3}) {
		t.Errorf("short inputs %v", in)
	}
}

// TestInvokeAllocs: Invoke allocates nothing, at 1 and 2 threads.
func TestInvokeAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	m := loadModel(t, "face_detection_short_range")
	for _, th := range []int{1, 2} {
		ip := newIP(t, m, th)
		if a := testing.AllocsPerRun(5, func() { _ = ip.Invoke() }); a != 0 {
			t.Errorf("%d threads: %v allocations per Invoke", th, a)
		}
	}
}

// TestClose: Close is idempotent, stops the helpers, and Invoke then fails.
func TestClose(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	m := loadModel(t, "face_detection_short_range")
	ip, err := NewInterpreter(m, Options{Threads: 4})
	if err != nil {
		t.Fatal(err)
	}
	if err := ip.Invoke(); err != nil {
		t.Fatal(err)
	}
	ip.Close()
	ip.Close()
	if err := ip.Invoke(); err != ErrClosed {
		t.Errorf("Invoke after Close: %v, want ErrClosed", err)
	}
}

// TestDroppedInterpreter: helpers of an interpreter that was never closed
// stop once it is garbage.
func TestDroppedInterpreter(t *testing.T) {
	m := loadModel(t, "face_detection_short_range")
	before := runtime.NumGoroutine()
	func() {
		ip, err := NewInterpreter(m, Options{Threads: 3})
		if err != nil {
			t.Fatal(err)
		}
		if err := ip.Invoke(); err != nil {
			t.Fatal(err)
		}
	}()
	for range 100 {
		runtime.GC()
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%d goroutines, %d before the interpreter", runtime.NumGoroutine(), before)
}

// TestSharedModel runs two interpreters of one Model at once (the race
// detector checks that the Model is only read) and expects equal results.
func TestSharedModel(t *testing.T) {
	m := loadModel(t, "face_detection_short_range")
	var outs [2][]float32
	done := make(chan int)
	for k := range 2 {
		ip := newIP(t, m, 1+k)
		noiseInput(ip.Input(0), 127.5, 127.5)
		go func() {
			defer func() { done <- k }()
			for range 2 {
				if err := ip.Invoke(); err != nil {
					t.Error(err)
					return
				}
			}
			outs[k] = slices.Clone(ip.Output(0))
		}()
	}
	<-done
	<-done
	if len(outs[0]) == 0 || len(outs[1]) == 0 {
		t.Fatal("an interpreter failed")
	}
	near(t, "1 vs 2 threads", outs[0], outs[1], 1e-5)
}

// TestBatchIndependence: at batch 3 each face's embedding equals its batch-1
// embedding (per-image depthwise, batch-following RESHAPE).
func TestBatchIndependence(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: TestMobileFaceNetBatch1 keeps a batch check")
	}
	m := loadModel(t, "MobileFaceNet")
	ip3, ip1 := newIP(t, m, 2), newIP(t, m, 1)
	if err := ip3.ResizeInput(0, []int{3, 112, 112, 3}); err != nil {
		t.Fatal(err)
	}
	if err := ip1.ResizeInput(0, []int{1, 112, 112, 3}); err != nil {
		t.Fatal(err)
	}
	noiseInput(ip3.Input(0), 127.5, 128)
	if err := ip3.Invoke(); err != nil {
		t.Fatal(err)
	}
	if got := ip3.OutputShape(0); !slices.Equal(got, []int{3, 192}) {
		t.Fatalf("batch-3 output shape %v", got)
	}
	per := 112 * 112 * 3
	for face := range 3 {
		copy(ip1.Input(0), ip3.Input(0)[face*per:(face+1)*per])
		if err := ip1.Invoke(); err != nil {
			t.Fatal(err)
		}
		near(t, "face", ip3.Output(0)[face*192:(face+1)*192], ip1.Output(0), 1e-5)
	}
}

// TestUnsupportedType: a quantized tensor is refused with its type named.
func TestUnsupportedType(t *testing.T) {
	data := slices.Clone(shippedModel(t, "face_detection_short_range"))
	b := fbuf(data)
	tv := b.table(b.deref(0)).vec(2, 4).table(0).vec(0, 4)
	var p int64
	for i := 0; i < tv.n && p == 0; i++ {
		p = tv.table(i).field(1, 1) // a tensor type stored explicitly (FLOAT16 weights)
	}
	if p == 0 {
		t.Fatal("no tensor with an explicit type")
	}
	data[p] = 9 // INT8
	_, err := Load(data)
	if err == nil || !strings.Contains(err.Error(), "INT8") {
		t.Fatalf("Load: %v, want an error naming INT8", err)
	}
}

// TestTinyModel runs a hand-built model and checks its arithmetic.
func TestTinyModel(t *testing.T) {
	m, err := Load(tinyConvModel())
	if err != nil {
		t.Fatal(err)
	}
	ip := newIP(t, m, 1)
	in := []float32{1, 2, -3, 4, 0.25, -1, -2, -2}
	copy(ip.Input(0), in)
	if err := ip.Invoke(); err != nil {
		t.Fatal(err)
	}
	var want []float32
	for px := range 4 {
		a, b := in[2*px], in[2*px+1]
		want = append(want, max(a+0.5, 0), max(b-0.5, 0), max(a-b, 0))
	}
	near(t, "tiny", ip.Output(0), want, 1e-6)
}

// TestSharedBuffers: thousands of tensors aliasing one buffer (a hostile
// file) cost one decoded copy, not thousands.
func TestSharedBuffers(t *testing.T) {
	big := f32bytes(make([]float32, 1<<14)...) // 64 KiB
	tensors := []fbt{
		{0: []int32{1, 2, 2, 2}, 2: uint32(0), 3: "input"},
		{0: []int32{3, 1, 1, 2}, 2: uint32(1), 3: "w"},
		{0: []int32{1, 2, 2, 3}, 2: uint32(0), 3: "output"},
	}
	for range 4000 {
		tensors = append(tensors, fbt{0: []int32{1 << 14}, 2: uint32(2)})
	}
	data := buildModel(fbt{
		0: uint32(3),
		1: []fbt{{0: uint8(3), 3: int32(3)}},
		2: []fbt{{
			0: tensors,
			1: []int32{0},
			2: []int32{2},
			3: []fbt{{0: uint32(0), 1: []int32{0, 1, -1}, 2: []int32{2}, 3: uint8(optConv2D),
				4: fbt{0: uint8(1), 1: int32(1), 2: int32(1)}}},
		}},
		4: []fbt{{}, {0: f32bytes(1, 0, 0, 1, 1, -1)}, {0: big}},
	})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := Load(data); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	// 4000 private copies would be 256 MiB.
	if got := after.TotalAlloc - before.TotalAlloc; got > 32<<20 {
		t.Errorf("Load allocated %d MiB for a %d KiB file", got>>20, len(data)>>10)
	}
}
