package camera

import (
	"context"
	"errors"
	"io"
	"testing"
)

// BenchmarkDecodeFile measures the capture path (decode + convert into the
// mailbox's buffers + hand-over) on a 640x480 file, unpaced, looping. The
// allocations reported are per frame.
func BenchmarkDecodeFile(b *testing.B) {
	for _, file := range []string{
		"video/mark_zuckerberg_640x480_15fps_5s.mjpeg",
		"video/mark_zuckerberg_640x480_15fps_2s.y4m",
	} {
		b.Run(file[len("video/"):], func(b *testing.B) {
			p := testdata(b, file)
			c, err := Open(context.Background(), Config{Source: p, Loop: true, Unpaced: true, Logger: quiet})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			for range 5 { // warm up: buffers sized, decoder running
				if _, err := c.Next(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := c.Next(context.Background()); err != nil && !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
			}
		})
	}
}
