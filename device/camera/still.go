package camera

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"os"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"facegate/pipeline/frame"
	"facegate/pipeline/frame/exif"
)

const (
	// stillMaxPixels refuses images whose pixels alone would take more
	// memory than a small board can spare (40 MP is 120 MB as BGR).
	stillMaxPixels = 40_000_000
	// stillMaxBytes refuses files no sane photo needs.
	stillMaxBytes = 64 << 20
)

// stillFormat is an image format decoded in process. The decoders are
// called directly rather than through image.RegisterFormat, so the package
// changes no process-wide table.
type stillFormat struct {
	name   string
	match  func(b []byte) bool
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

// stillFormats is immutable after initialisation.
var stillFormats = []stillFormat{
	{"JPEG", prefix("\xff\xd8\xff"), jpeg.DecodeConfig, jpeg.Decode},
	{"PNG", prefix("\x89PNG\r\n\x1a\n"), png.DecodeConfig, png.Decode},
	{"GIF", func(b []byte) bool { return prefix("GIF87a")(b) || prefix("GIF89a")(b) }, gif.DecodeConfig, gif.Decode},
	{"BMP", prefix("BM"), bmp.DecodeConfig, bmp.Decode},
	{"TIFF", func(b []byte) bool { return prefix("II*\x00")(b) || prefix("MM\x00*")(b) }, tiff.DecodeConfig, tiff.Decode},
	{"WebP", func(b []byte) bool { return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP" }, webp.DecodeConfig, webp.Decode},
}

func prefix(p string) func([]byte) bool {
	return func(b []byte) bool { return bytes.HasPrefix(b, []byte(p)) }
}

// stillCapture offers one decoded image as a single frame.
type stillCapture struct {
	img  frame.Frame
	done bool
}

// openStill decodes a still image. Formats Go has no decoder for (PGM,
// PPM, …) and valid images using features Go's decoders lack come back as
// errNotNative, for the OpenCV helper.
func openStill(ctx context.Context, s spec, cfg Config) (capture, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := readStill(s.target)
	if err != nil {
		return nil, err
	}
	c := &stillCapture{}
	if err := decodeStill(&c.img, data); err != nil {
		return nil, fmt.Errorf("%s: %w", s.target, err)
	}
	return c, nil
}

// readStill reads a whole image file, refusing oversized ones.
func readStill(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > stillMaxBytes {
		return nil, fmt.Errorf("%s: image file of %d bytes is over the %d MiB limit", path, st.Size(), stillMaxBytes>>20)
	}
	data, err := io.ReadAll(io.LimitReader(f, stillMaxBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > stillMaxBytes {
		return nil, fmt.Errorf("%s: image file is over the %d MiB limit", path, stillMaxBytes>>20)
	}
	return data, nil
}

// decodeStill decodes an encoded image into dst as BGR, JPEGs turned
// upright by their EXIF orientation.
func decodeStill(dst *frame.Frame, data []byte) error {
	var sf *stillFormat
	for i := range stillFormats {
		if stillFormats[i].match(data) {
			sf = &stillFormats[i]
			break
		}
	}
	if sf == nil {
		return fmt.Errorf("image format not decoded in process: %w", errNotNative)
	}
	cfg, err := sf.config(bytes.NewReader(data))
	if err != nil {
		return stillError(sf.name, err)
	}
	if cfg.Width < 1 || cfg.Height < 1 {
		return fmt.Errorf("%s image has no pixels (%dx%d)", sf.name, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > stillMaxPixels {
		return fmt.Errorf("%s image of %dx%d is over the %d megapixel limit", sf.name, cfg.Width, cfg.Height, stillMaxPixels/1_000_000)
	}
	img, err := sf.decode(bytes.NewReader(data))
	if err != nil {
		return stillError(sf.name, err)
	}
	// libwebp, which OpenCV uses, converts lossy WebP as video range;
	// image/jpeg's YCbCr is JFIF full range.
	full := sf.name != "WebP"
	if sf.name == "JPEG" {
		img = exif.Upright(data, img)
	}
	return imageToBGR(dst, img, full)
}

// stillError wraps a decoder error; a valid image using a feature the Go
// decoder lacks (arithmetic-coded JPEG, a TIFF compression, …) is left to
// the OpenCV helper.
func stillError(format string, err error) error {
	var (
		je jpeg.UnsupportedError
		pe png.UnsupportedError
		te tiff.UnsupportedError
	)
	if errors.As(err, &je) || errors.As(err, &pe) || errors.As(err, &te) || errors.Is(err, bmp.ErrUnsupported) {
		return fmt.Errorf("decode %s image: %v: %w", format, err, errNotNative)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("decode %s image: file is truncated: %w", format, err)
	}
	return fmt.Errorf("decode %s image: %w", format, err)
}

// imageToBGR converts a decoded image to a packed BGR frame. Alpha is
// dropped, not blended, as OpenCV's imread does for colour images.
func imageToBGR(dst *frame.Frame, img image.Image, fullRange bool) error {
	b := img.Bounds()
	if b.Empty() {
		return errors.New("empty image")
	}
	w, h := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *image.YCbCr:
		return ycbcrToBGR(dst, m, fullRange)
	case *image.NYCbCrA:
		return ycbcrToBGR(dst, &m.YCbCr, fullRange)
	case *image.Gray:
		return planar{y: m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], w: w, h: h, yStride: m.Stride}.toBGR(dst)
	case *image.RGBA:
		rgbaToBGR(dst, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], w, h, m.Stride)
		return nil
	case *image.NRGBA:
		rgbaToBGR(dst, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], w, h, m.Stride)
		return nil
	case *image.Paletted:
		var lut [256][3]byte
		for i, c := range m.Palette {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			lut[i] = [3]byte{n.B, n.G, n.R}
		}
		sizeBGR(dst, w, h)
		for y := 0; y < h; y++ {
			in := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			out := dst.Pix[y*dst.Stride:][:3*w]
			for x, i := range in {
				p := lut[i]
				out[3*x], out[3*x+1], out[3*x+2] = p[0], p[1], p[2]
			}
		}
		return nil
	}
	return toBGRGeneric(dst, img)
}

// rgbaToBGR copies 4-byte RGBA rows into dst as BGR.
func rgbaToBGR(dst *frame.Frame, pix []byte, w, h, stride int) {
	sizeBGR(dst, w, h)
	for y := 0; y < h; y++ {
		in := pix[y*stride:][:4*w]
		out := dst.Pix[y*dst.Stride:][:3*w]
		for x := 0; x < w; x++ {
			out[3*x], out[3*x+1], out[3*x+2] = in[4*x+2], in[4*x+1], in[4*x]
		}
	}
}

// read delivers the still once, then io.EOF; the Camera reopens the file
// when it loops.
func (c *stillCapture) read(dst *frame.Frame) error {
	if c.done {
		return io.EOF
	}
	c.done = true
	sizeBGR(dst, c.img.Width, c.img.Height)
	copy(dst.Pix, c.img.Pix)
	dst.Format = c.img.Format
	return nil
}

func (c *stillCapture) fps() float64 { return 1 }
func (c *stillCapture) close()       {}
