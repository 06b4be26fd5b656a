package facenet

import (
	"image"
	"image/color"
	"slices"
	"sync"
	"testing"

	"facegate/pipeline/frame"
)

// TestSharedModel: embedders sharing one loaded model, on several
// goroutines, give what an embedder of its own gives.
func TestSharedModel(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 160, 160))
	for y := 0; y < 160; y++ {
		for x := 0; x < 160; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	face := frame.Face{Box: frame.Box{X: 40, Y: 40, W: 80, H: 80}, Score: 0.9}
	face.Keypoints[frame.RightEye] = frame.Point{X: 65, Y: 70}
	face.Keypoints[frame.LeftEye] = frame.Point{X: 95, Y: 70}
	face.Keypoints[frame.NoseTip] = frame.Point{X: 80, Y: 88}
	face.Keypoints[frame.Mouth] = frame.Point{X: 80, Y: 105}
	own, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	want, _, err := own.EmbedImage(img, face, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]frame.Embedding, 2)
	var wg sync.WaitGroup
	for i := range got {
		e, err := m.NewEmbedder(Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		wg.Go(func() { got[i], _, _ = e.EmbedImage(img, face, nil) })
	}
	wg.Wait()
	for i, g := range got {
		if g.Model != want.Model || !slices.Equal(g.Vector, want.Vector) {
			t.Errorf("embedder %d on the shared model differs from one of its own", i)
		}
	}
}
