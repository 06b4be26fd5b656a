package facenet

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"facegate/models/blazeface"
	"facegate/pipeline/frame"
)

// testGroupPhotos names the faces of the annotated group photos against a
// gallery of every person's development photos (one sample per photo, the
// best sample wins): each face of bbt3 and bbt5 (annotated left to right)
// and the cast of bbt4 must come out right, with a similarity above
// DefaultThreshold.
func testGroupPhotos(t *testing.T, faces []devFace) {
	e, err := New(Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	gallery := make([]frame.Embedding, len(faces))
	for i, f := range faces {
		if gallery[i], _, err = e.EmbedImage(f.img, f.face, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Group photos have small faces: the full-range detector.
	det, err := blazeface.New(blazeface.Options{Model: "full", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	for _, tc := range []struct {
		file    string
		names   string // semicolon-separated
		ordered bool   // left to right
	}{
		{"bbt3.jpg", "Jim_Parsons;Simon_Helberg;Kaley_Cuoco;Kunal_Nayyar;Johnny_Galecki", true},
		{"bbt5.jpg", "Kunal_Nayyar;Kaley_Cuoco;Jim_Parsons;Johnny_Galecki;Simon_Helberg", true},
		{"bbt4.jpg", "Mayim_Bialik;Kunal_Nayyar;Melissa_Rauch;Johnny_Galecki;Kaley_Cuoco;Jim_Parsons", false},
	} {
		img, err := loadImage(filepath.Join(facesDir(t), "_group", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		found, err := det.DetectImage(img)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Split(tc.names, ";")
		if len(found) != len(want) {
			t.Errorf("%s: %d faces, want %d", tc.file, len(found), len(want))
			continue
		}
		slices.SortFunc(found, func(a, b frame.Face) int {
			return int(a.Box.X+a.Box.W/2) - int(b.Box.X+b.Box.W/2)
		})
		var got []string
		for _, f := range found {
			emb, _, err := e.EmbedImage(img, f, nil)
			if err != nil {
				t.Fatal(err)
			}
			best, bestSim := "", float32(-1)
			for i, g := range gallery {
				if s, _ := Similarity(emb, g); s > bestSim {
					best, bestSim = faces[i].person, s
				}
			}
			if bestSim < DefaultThreshold {
				t.Logf("%s: face at x=%.0f best %s at %.3f, under the threshold", tc.file, f.Box.X, best, bestSim)
				best = "?"
			}
			got = append(got, best)
			t.Logf("%s: face at x=%.0f -> %s (%.3f)", tc.file, f.Box.X, best, bestSim)
		}
		if !tc.ordered {
			slices.Sort(got)
			slices.Sort(want)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: named %v, want %v", tc.file, got, want)
		}
	}
}
