package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"facegate/internal/testenv"
)

// modelTestRoot walks up to go.mod.
func modelTestRoot(t *testing.T) string { return testenv.ModuleRoot(t) }

func runModelCmd(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := runModel(context.Background(), stdio{in: strings.NewReader(""), out: &out, err: &errb}, args)
	return out.String(), errb.String(), err
}

// TestModelRunGolden runs the short-range detector on the golden input
// through the CLI and compares the files it writes with TFLite's outputs.
func TestModelRunGolden(t *testing.T) {
	root := modelTestRoot(t)
	gd := filepath.Join(root, "..", "shared", "golden", "tflite", "face_detection_short_range")
	if _, err := os.Stat(gd); err != nil {
		t.Skipf("golden data not found: %v", err)
	}
	out := t.TempDir()
	model := filepath.Join(root, "models", "face_detection_short_range.tflite")
	stdout, stderr, err := runModelCmd(t, "run", model, "--input", filepath.Join(gd, "input.f32"), "--out", out)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "output_1.f32 [1,896,1]") {
		t.Errorf("stdout %q does not list output_1", stdout)
	}
	for _, f := range []string{"output_0.f32", "output_1.f32"} {
		got, err := readF32File(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		want, err := readF32File(filepath.Join(gd, f))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %d", f, len(got), len(want))
		}
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 1e-3+1e-3*math.Abs(float64(want[i])) {
				t.Fatalf("%s[%d] = %g, want %g", f, i, got[i], want[i])
			}
		}
	}
}

// TestModelRunResize: an input file holding one face makes the batch-2
// MobileFaceNet run at batch 1, by file size or by --shape.
func TestModelRunResize(t *testing.T) {
	root := modelTestRoot(t)
	gd := filepath.Join(root, "..", "shared", "golden", "tflite", "MobileFaceNet")
	if _, err := os.Stat(gd); err != nil {
		t.Skipf("golden data not found: %v", err)
	}
	in, err := readF32File(filepath.Join(gd, "input.f32"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := readF32File(filepath.Join(gd, "output_0.f32"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	one := filepath.Join(dir, "face1.f32")
	if err := writeF32File(one, in[112*112*3:]); err != nil {
		t.Fatal(err)
	}
	for _, extra := range [][]string{nil, {"--shape", "1,112,112,3"}} {
		out := filepath.Join(dir, "out")
		args := append([]string{"run", "MobileFaceNet", "--input", one, "--out", out}, extra...)
		if _, stderr, err := runModelCmd(t, args...); err != nil {
			t.Fatalf("run %v: %v\n%s", extra, err, stderr)
		}
		got, err := readF32File(filepath.Join(out, "output_0.f32"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 192 {
			t.Fatalf("%d values, want 192", len(got))
		}
		for i, v := range got {
			if w := want[192+i]; math.Abs(float64(v-w)) > 1e-3+1e-3*math.Abs(float64(w)) {
				t.Fatalf("[%d] = %g, want %g", i, v, w)
			}
		}
	}
	// A file that fits no batch is refused.
	bad := filepath.Join(dir, "bad.f32")
	if err := writeF32File(bad, in[:1000]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runModelCmd(t, "run", "MobileFaceNet", "--input", bad, "--out", dir); err == nil {
		t.Error("run with a 1000-value input succeeded")
	}
}

func TestModelInspectAndBench(t *testing.T) {
	stdout, stderr, err := runModelCmd(t, "inspect", "MobileFaceNet")
	if err != nil {
		t.Fatalf("inspect: %v\n%s", err, stderr)
	}
	for _, want := range []string{"input 0: input [2,112,112,3]", "output 0: embeddings [2,192]",
		"ABS×33", "MACs: 468210688", "CONV_2D+PRELU"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, stdout)
		}
	}

	stdout, stderr, err = runModelCmd(t, "bench", "face_detection_short_range", "--runs", "3", "--threads", "2")
	if err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr)
	}
	var r modelBenchResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("bench output %q: %v", stdout, err)
	}
	if r.Model != "face_detection_short_range" || r.Runs != 3 || r.Threads != 2 ||
		len(r.Shape) != 4 || !(r.MsMedian > 0) || r.MsP90 < r.MsMedian || !(r.GMACs > 0) {
		t.Errorf("bench result %+v", r)
	}

	for _, args := range [][]string{{}, {"frobnicate"}, {"inspect"}, {"run", "MobileFaceNet"},
		{"bench", "MobileFaceNet", "--runs", "0"}} {
		if _, _, err := runModelCmd(t, args...); err == nil {
			t.Errorf("model %v succeeded", args)
		}
	}
	if _, _, err := runModelCmd(t, "inspect", filepath.Join(t.TempDir(), "missing.tflite")); err == nil {
		t.Error("inspect of a missing file succeeded")
	}
}
