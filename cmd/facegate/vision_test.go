package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"facegate/internal/testenv"
	"facegate/pipeline/frame/exif"
)

// facesDir returns ../shared/testdata/faces (or $FACEGATE_TESTDATA/faces),
// skipping when absent.
func facesDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("FACEGATE_TESTDATA")
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		for dir = wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			if filepath.Dir(dir) == dir {
				t.Fatal("go.mod not found")
			}
		}
		dir = filepath.Join(dir, "..", "shared", "testdata")
	}
	dir = filepath.Join(dir, "faces")
	if _, err := os.Stat(filepath.Join(dir, "Jack_Dorsey", "1.jpg")); err != nil {
		t.Skipf("development photos absent: %v", err)
	}
	return dir
}

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), stdio{strings.NewReader(""), &out, &errb}, args)
	return code, out.String(), errb.String()
}

type detectLine struct {
	File   string `json:"file"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Model  string `json:"model"`
	Faces  []struct {
		Score     float32       `json:"score"`
		Box       [4]float32    `json:"box"`
		Keypoints [6][2]float32 `json:"keypoints"`
		Quality   *struct {
			OK     bool   `json:"ok"`
			Reason string `json:"reason"`
		} `json:"quality"`
		Embedding []float32 `json:"embedding"`
	} `json:"faces"`
}

func parseLines(t *testing.T, s string) []detectLine {
	t.Helper()
	var out []detectLine
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l == "" {
			continue
		}
		var d detectLine
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatalf("bad JSON line %q: %v", l, err)
		}
		out = append(out, d)
	}
	return out
}

func TestDetectCLI(t *testing.T) {
	dir := facesDir(t)
	tmp := t.TempDir()
	good := filepath.Join(dir, "Jack_Dorsey", "1.jpg")
	data, err := os.ReadFile(filepath.Join(dir, "Jack_Dorsey", "2.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	trunc := filepath.Join(tmp, "truncated.jpg")
	text := filepath.Join(tmp, "notes.jpg")
	os.WriteFile(trunc, data[:len(data)/3], 0o600)
	os.WriteFile(text, []byte("not an image\n"), 0o600)
	missing := filepath.Join(tmp, "missing.png")
	husky := filepath.Join(dir, "_noface", "animal_dog_husky.jpg")
	sea := filepath.Join(dir, "_noface", "landscape_sea.jpg")

	code, out, errs := runCmd(t, "detect", "--model", "short", trunc, good, text, missing, husky, sea)
	if code != 1 {
		t.Errorf("exit code %d, want 1 (some files failed)", code)
	}
	lines := parseLines(t, out)
	if len(lines) != 3 {
		t.Fatalf("%d output lines, want 3 (good, husky, sea):\n%s", len(lines), out)
	}
	if lines[0].File != good || lines[0].Width != 740 || lines[0].Height != 418 || len(lines[0].Faces) != 1 {
		t.Errorf("good photo: %+v", lines[0])
	}
	f := lines[0].Faces[0]
	if f.Box[2] <= 0 || f.Score < 0.5 || f.Keypoints[0][0] >= f.Keypoints[1][0] {
		t.Errorf("face %+v: want a box, a score ≥ 0.5 and the right eye left of the left eye", f)
	}
	if len(lines[1].Faces) != 1 {
		t.Errorf("husky: %d faces, MediaPipe finds one", len(lines[1].Faces))
	}
	if len(lines[2].Faces) != 0 {
		t.Errorf("sea: %d faces", len(lines[2].Faces))
	}
	for _, want := range []string{trunc + ": jpeg image is damaged", text + ": not a readable image", missing + ": cannot read"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if n := strings.Count(errs, "\n"); n != 3 {
		t.Errorf("%d error lines, want 3:\n%s", n, errs)
	}

	for _, args := range [][]string{{"detect"}, {"detect", "--model", "tiny", good}, {"detect", "--min-score", "2", good}, {"detect", "--threads", "0", good}, {"compare", good}} {
		if code, _, errs := runCmd(t, args...); code != 2 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q; want usage error 2", args, code, errs)
		}
	}
}

func TestEmbedAndCompareCLI(t *testing.T) {
	dir := facesDir(t)
	a1 := filepath.Join(dir, "Jack_Dorsey", "1.jpg")
	a2 := filepath.Join(dir, "Jack_Dorsey", "3.jpg")
	b := filepath.Join(dir, "Katy_Perry", "3.jpg")
	code, out, errs := runCmd(t, "embed", a1)
	if code != 0 {
		t.Fatalf("embed: exit %d: %s", code, errs)
	}
	lines := parseLines(t, out)
	if len(lines) != 1 || len(lines[0].Faces) != 1 {
		t.Fatalf("embed: %s", out)
	}
	face := lines[0].Faces[0]
	var n float64
	for _, x := range face.Embedding {
		n += float64(x) * float64(x)
	}
	if len(face.Embedding) != 192 || n < 0.999 || n > 1.001 || face.Quality == nil || !face.Quality.OK {
		t.Errorf("embedding of %d floats, norm² %v, quality %+v", len(face.Embedding), n, face.Quality)
	}
	if !strings.HasPrefix(lines[0].Model, "MobileFaceNet@") {
		t.Errorf("model %q", lines[0].Model)
	}

	type cmp struct {
		Similarity float64 `json:"similarity"`
		Same       bool    `json:"same"`
		Threshold  float64 `json:"threshold"`
	}
	for _, tc := range []struct {
		a, b string
		same bool
	}{{a1, a2, true}, {a1, b, false}} {
		code, out, errs := runCmd(t, "compare", tc.a, tc.b)
		var c cmp
		if code != 0 || json.Unmarshal([]byte(out), &c) != nil {
			t.Fatalf("compare: exit %d, %q, %s", code, out, errs)
		}
		if c.Same != tc.same || c.Threshold <= 0 || (c.Similarity >= c.Threshold) != c.Same {
			t.Errorf("compare %s %s: %+v, want same=%v", tc.a, tc.b, c, tc.same)
		}
	}
	sea := filepath.Join(dir, "_noface", "landscape_sea.jpg")
	if code, out, errs := runCmd(t, "compare", a1, sea); code != 1 || out != "" || !strings.Contains(errs, "no face") {
		t.Errorf("compare with a landscape: exit %d, out %q, err %q", code, out, errs)
	}
}

// jpegWithOrientation encodes img and inserts an EXIF APP1 segment with
// the given orientation right after the SOI marker.
func jpegWithOrientation(t *testing.T, img image.Image, o uint16, order binary.ByteOrder) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return testenv.WithOrientation(buf.Bytes(), o, order)
}

func TestEXIFOrientation(t *testing.T) {
	// 40×20, a red block in the top-left corner.
	img := image.NewRGBA(image.Rect(0, 0, 40, 20))
	for y := 0; y < 20; y++ {
		for x := 0; x < 40; x++ {
			c := color.RGBA{0, 0, 255, 255}
			if x < 10 && y < 8 {
				c = color.RGBA{255, 0, 0, 255}
			}
			img.Set(x, y, c)
		}
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		o      uint16
		order  binary.ByteOrder
		w, h   int
		redX   int // where the red corner lands (x, y of a pixel inside it)
		redY   int
		nonRed image.Point
	}{
		{1, binary.BigEndian, 40, 20, 2, 2, image.Pt(37, 2)},
		{3, binary.LittleEndian, 40, 20, 37, 17, image.Pt(2, 2)},
		{6, binary.BigEndian, 20, 40, 17, 2, image.Pt(2, 2)}, // rotate 90° clockwise: top-left -> top-right
		{8, binary.LittleEndian, 20, 40, 2, 37, image.Pt(2, 2)},
		{2, binary.BigEndian, 40, 20, 37, 2, image.Pt(2, 2)},
	} {
		data := jpegWithOrientation(t, img, tc.o, tc.order)
		if got := exif.Orientation(data); got != int(tc.o) {
			t.Errorf("orientation %d read as %d", tc.o, got)
		}
		path := filepath.Join(dir, "o.jpg")
		os.WriteFile(path, data, 0o600)
		dec, err := decodeImageFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if b := dec.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
			t.Errorf("orientation %d: %v, want %d×%d", tc.o, b, tc.w, tc.h)
			continue
		}
		red := func(p image.Point) bool {
			r, _, b, _ := dec.At(p.X, p.Y).RGBA()
			return r > 0xC000 && b < 0x4000
		}
		if !red(image.Pt(tc.redX, tc.redY)) || red(tc.nonRed) {
			t.Errorf("orientation %d: red corner not at (%d, %d)", tc.o, tc.redX, tc.redY)
		}
	}
	for name, data := range map[string][]byte{
		"empty":     nil,
		"not jpeg":  []byte("hello"),
		"cut app1":  {0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x40, 'E', 'x'},
		"bad tiff":  append([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x10}, []byte("Exif\x00\x00XX\x00\x2a\xff\xff\xff\xff")...),
		"no app1":   {0xFF, 0xD8, 0xFF, 0xDA, 0x00, 0x02},
		"zero size": {0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x00},
	} {
		if got := exif.Orientation(data); got != 0 {
			t.Errorf("%s: orientation %d, want 0", name, got)
		}
	}
}
