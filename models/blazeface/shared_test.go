package blazeface

import (
	"image"
	"image/color"
	"slices"
	"sync"
	"testing"

	"facegate/pipeline/frame"
)

// TestSharedModel runs detectors that share one loaded model on several
// goroutines: each gives what a detector of its own gives (the model is
// read only; -race checks it).
func TestSharedModel(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 200, 150))
	for y := 0; y < 150; y++ {
		for x := 0; x < 200; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	own, err := New(Options{Model: "short", MinScore: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	want, err := own.DetectImage(img)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(Options{Model: "short"})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	got := make([][]frame.Face, 3)
	for i := range got {
		d, err := m.NewDetector(Options{MinScore: 0.01})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		wg.Go(func() {
			for range 3 {
				got[i], _ = d.DetectImage(img)
			}
		})
	}
	wg.Wait()
	for i := range got {
		if !slices.Equal(got[i], want) {
			t.Errorf("detector %d on the shared model: %v, want %v", i, got[i], want)
		}
	}
}
