package pipeline

import (
	"bytes"
	"context"
	"image/jpeg"
	"io"
	"runtime"
	"testing"
	"time"

	"facegate/pipeline/frame"
	"facegate/pipeline/gallery"
)

// decodedClip decodes the first n frames of a clip into memory.
func decodedClip(tb testing.TB, name string, n int) []frame.Frame {
	tb.Helper()
	jpegs := loadMJPEG(tb, name)
	out := make([]frame.Frame, 0, n)
	for _, j := range jpegs[:min(n, len(jpegs))] {
		img, err := jpeg.Decode(bytes.NewReader(j))
		if err != nil {
			tb.Fatal(err)
		}
		var f frame.Frame
		toRGB(img, &f)
		out = append(out, f)
	}
	return out
}

// realRunner is a runner with the real models and a gallery in which the
// clip's person is enrolled, fed directly (no source).
func realRunner(tb testing.TB) *Runner {
	m := models(tb)
	gm := gallery.NewMatcher(enrolled(tb, m, dev))
	r, err := NewRunner(Config{
		Camera: "bench", Open: func(context.Context) (Source, error) { return nil, io.EOF },
		Detector: m, Embedder: m, Quality: m.Quality, Matcher: GalleryMatcher{gm},
		Events: NewHub[Event](nil), Results: NewHub[Result](nil), Presence: NewPresence(0),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// BenchmarkVideoFrame runs the whole frame loop after decoding (detect,
// track, embed on refresh, match, events, result) on a 640×480 clip of an
// enrolled person with the real models, cycling through 30 decoded frames
// at a 15 frames/s capture clock: frames/s and allocations per frame.
func BenchmarkVideoFrame(b *testing.B) {
	frames := decodedClip(b, "mark_zuckerberg_640x480_15fps_5s.mjpeg", 30)
	r := realRunner(b)
	var seq uint64
	step := func() {
		f := &frames[seq%uint64(len(frames))]
		seq++
		f.Seq, f.Time = seq, seqTime(seq)
		r.process(f, f.Time)
	}
	for range 45 { // the track is named and past its first refreshes
		step()
	}
	e0 := r.Stats().Embeds
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		step()
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "frames/s")
	b.StopTimer()
	runtime.ReadMemStats(&m1)
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/float64(b.N), "mallocs/frame")
	b.ReportMetric(float64(r.Stats().Embeds-e0)/float64(b.N), "embeds/frame")
}
