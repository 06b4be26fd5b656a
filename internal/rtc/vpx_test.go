package rtc

import (
	"image"
	"math/rand/v2"
	"testing"

	"github.com/pion/mediadevices/pkg/codec/vpx"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
)

// testPicture is a 4:2:0 picture with a bright square on a dark field, so a
// decoded frame can be checked pixel by pixel.
func testPicture(w, h, sx int) *image.YCbCr {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			yy := uint8(40)
			if x >= sx && x < sx+w/4 && y >= h/4 && y < h/2 {
				yy = 220
			}
			img.Y[y*img.YStride+x] = yy
		}
	}
	for i := range img.Cb {
		img.Cb[i], img.Cr[i] = 128, 128
	}
	return img
}

func encodeFrames(t *testing.T, w, h, n int) [][]byte {
	t.Helper()
	params, err := vpx.NewVP8Params()
	if err != nil {
		t.Fatal(err)
	}
	params.BitRate = 2_000_000
	i := 0
	src := video.ReaderFunc(func() (image.Image, func(), error) {
		i++
		return testPicture(w, h, 8*i), func() {}, nil
	})
	enc, err := params.BuildVideoEncoder(src, prop.Media{Video: prop.Video{Width: w, Height: h}})
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	var out [][]byte
	for range n {
		b, release, err := enc.Read()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte(nil), b...))
		release()
	}
	return out
}

func packetize(frames [][]byte) []*rtp.Packet {
	var pay codecs.VP8Payloader
	var pkts []*rtp.Packet
	seq := uint16(65530) // wraps during the test
	for _, f := range frames {
		parts := pay.Payload(1200, f)
		for i, p := range parts {
			pkts = append(pkts, &rtp.Packet{Header: rtp.Header{SequenceNumber: seq, Marker: i == len(parts)-1}, Payload: p})
			seq++
		}
	}
	return pkts
}

func TestAssembleAndDecode(t *testing.T) {
	const w, h = 320, 240
	frames := encodeFrames(t, w, h, 10)
	pkts := packetize(frames)
	// RTX-like duplicates of every third packet must be ignored.
	var stream []*rtp.Packet
	for i, p := range pkts {
		stream = append(stream, p)
		if i%3 == 0 {
			stream = append(stream, p)
		}
	}
	dec, err := newVP8Decoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.close()
	var a assembler
	got := 0
	for _, p := range stream {
		f, lost, err := a.push(p)
		if err != nil || lost {
			t.Fatalf("push: lost=%v err=%v", lost, err)
		}
		if f == nil {
			continue
		}
		pic, err := dec.decode(f)
		if err != nil {
			t.Fatal(err)
		}
		got++
		if pic.Width != w || pic.Height != h {
			t.Fatalf("decoded %dx%d, want %dx%d", pic.Width, pic.Height, w, h)
		}
		// Inside the square: bright; far outside: dark.
		sx := 8 * got
		in := pic.Pix[(h*3/8)*pic.Stride+3*(sx+w/8)]
		out := pic.Pix[(h*7/8)*pic.Stride+3*(w/2)]
		if in < 180 || out > 60 {
			t.Errorf("frame %d: square %d, background %d", got, in, out)
		}
	}
	if got != len(frames) {
		t.Errorf("decoded %d frames, want %d", got, len(frames))
	}
}

func TestAssembleLoss(t *testing.T) {
	frames := encodeFrames(t, 320, 240, 3)
	pkts := packetize(frames)
	var a assembler
	lostSeen, complete := false, 0
	for i, p := range pkts {
		if i == 1 { // drop the second packet of the keyframe
			continue
		}
		f, lost, _ := a.push(p)
		lostSeen = lostSeen || lost
		if f != nil {
			complete++
		}
	}
	if !lostSeen {
		t.Error("a gap in sequence numbers was not reported")
	}
	if complete != len(frames)-1 {
		t.Errorf("%d complete frames, want %d (the damaged one dropped)", complete, len(frames)-1)
	}
}

func TestDecodeGarbage(t *testing.T) {
	dec, err := newVP8Decoder()
	if err != nil {
		t.Fatal(err)
	}
	defer dec.close()
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		b := make([]byte, 1+r.IntN(2000))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		_, _ = dec.decode(b) // must not crash
	}
	if _, err := dec.decode(nil); err == nil {
		t.Error("empty frame accepted")
	}
	// The decoder still works after garbage once a keyframe arrives.
	frames := encodeFrames(t, 160, 120, 1)
	if pic, err := dec.decode(frames[0]); err != nil || pic == nil {
		t.Fatalf("keyframe after garbage: %v", err)
	}
}

func BenchmarkDecode640(b *testing.B) {
	t := &testing.T{}
	frames := encodeFrames(t, 640, 480, 30)
	dec, err := newVP8Decoder()
	if err != nil {
		b.Fatal(err)
	}
	defer dec.close()
	for _, f := range frames[:1] {
		if _, err := dec.decode(f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := dec.decode(frames[1+i%29]); err != nil {
			b.Fatal(err)
		}
	}
}
