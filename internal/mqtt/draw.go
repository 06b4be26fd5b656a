package mqtt

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"log/slog"
	"os"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"facegate/pipeline/frame"
)

// Snapshot colours: known faces green, unknown orange, text white.
var (
	knownColor   = color.RGBA{0x2e, 0xcc, 0x71, 0xff}
	unknownColor = color.RGBA{0xff, 0x8c, 0x00, 0xff}
	textColor    = color.RGBA{0xff, 0xff, 0xff, 0xff}
)

// maxSnapshotPixels bounds the frames the bridge draws on.
const maxSnapshotPixels = 16_000_000

// painter draws boxes and names on snapshots. The font is loaded on first
// use; without it boxes are still drawn and that is logged once. A painter
// belongs to one goroutine (the announcer): font faces are not safe for
// concurrent use.
type painter struct {
	path   string
	log    *slog.Logger
	tried  bool
	font   *opentype.Font
	faces  map[int]font.Face // by pixel size
	warned bool
}

func newPainter(path string, log *slog.Logger) *painter {
	return &painter{path: path, log: log, faces: map[int]font.Face{}}
}

// load reads and parses the font once.
func (p *painter) load() {
	if p.tried {
		return
	}
	p.tried = true
	data, err := os.ReadFile(p.path)
	if err == nil {
		p.font, err = opentype.Parse(data)
	}
	if err != nil {
		p.log.Warn("mqtt: no font for snapshot names; boxes are drawn without names (install fonts-nanum or set the font path)",
			"font", p.path, "err", err)
	}
}

// face returns the font face for a pixel size, or nil without a font.
func (p *painter) face(size int) font.Face {
	p.load()
	if p.font == nil {
		return nil
	}
	if f, ok := p.faces[size]; ok {
		return f
	}
	if len(p.faces) >= 8 { // frame sizes rarely change; keep the cache small anyway
		for k, f := range p.faces {
			_ = f.Close()
			delete(p.faces, k)
		}
	}
	f, err := opentype.NewFace(p.font, &opentype.FaceOptions{Size: float64(size), DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		if !p.warned {
			p.warned = true
			p.log.Warn("mqtt: font face", "err", err)
		}
		return nil
	}
	p.faces[size] = f
	return f
}

// render draws the labels on a copy of img and encodes it as JPEG.
func (p *painter) render(img image.Image, labels []Label) ([]byte, error) {
	r := img.Bounds()
	if r.Dx() <= 0 || r.Dy() <= 0 {
		return nil, errors.New("empty image")
	}
	if r.Dx()*r.Dy() > maxSnapshotPixels {
		return nil, errors.New("image too large for a snapshot")
	}
	canvas := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(canvas, canvas.Bounds(), img, r.Min, draw.Src)
	short := min(r.Dx(), r.Dy())
	thick := max(2, short/160)
	size := min(48, max(12, short/20))
	face := p.face(size)
	for _, l := range labels {
		c := knownColor
		name := l.Name
		if name == "" {
			c, name = unknownColor, "unknown"
		}
		box := clampBox(l.Box, canvas.Bounds())
		if box.Empty() {
			continue
		}
		strokeRect(canvas, box, thick, c)
		if face != nil {
			drawLabel(canvas, face, box, name, c)
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, canvas, &jpeg.Options{Quality: 80}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// clampBox converts a frame box to an integer rectangle inside bounds.
func clampBox(b frame.Box, bounds image.Rectangle) image.Rectangle {
	return image.Rect(int(b.X), int(b.Y), int(b.X+b.W), int(b.Y+b.H)).Intersect(bounds)
}

// strokeRect draws the outline of r, t pixels thick, inside r.
func strokeRect(dst *image.RGBA, r image.Rectangle, t int, c color.Color) {
	u := image.NewUniform(c)
	t = min(t, r.Dx()/2+1, r.Dy()/2+1)
	for _, side := range []image.Rectangle{
		{r.Min, image.Pt(r.Max.X, r.Min.Y+t)},
		{image.Pt(r.Min.X, r.Max.Y-t), r.Max},
		{r.Min, image.Pt(r.Min.X+t, r.Max.Y)},
		{image.Pt(r.Max.X-t, r.Min.Y), r.Max},
	} {
		draw.Draw(dst, side.Intersect(dst.Bounds()), u, image.Point{}, draw.Src)
	}
}

// drawLabel writes name on a filled tag above the box (inside it when the
// box touches the top edge).
func drawLabel(dst *image.RGBA, face font.Face, box image.Rectangle, name string, c color.Color) {
	m := face.Metrics()
	ascent, descent := m.Ascent.Ceil(), m.Descent.Ceil()
	pad := max(2, (ascent+descent)/6)
	width := font.MeasureString(face, name).Ceil() + 2*pad
	height := ascent + descent + 2*pad
	top := box.Min.Y - height
	if top < 0 {
		top = box.Min.Y
	}
	tag := image.Rect(box.Min.X, top, box.Min.X+width, top+height).Intersect(dst.Bounds())
	draw.Draw(dst, tag, image.NewUniform(c), image.Point{}, draw.Src)
	d := font.Drawer{
		Dst:  dst,
		Src:  image.NewUniform(textColor),
		Face: face,
		Dot:  fixed.P(box.Min.X+pad, top+pad+ascent),
	}
	d.DrawString(name)
}

// thumbSide is the short side a thumbnail is enlarged to, so that names
// drawn on it are readable.
const thumbSide = 384

// pipelineThumbSide is the longest side of the pipeline's thumbnails.
const pipelineThumbSide = 128

// thumbCanvas decodes a pipeline thumbnail (the face box widened by a
// quarter on each side, clamped to the frame, scaled down) and returns it
// enlarged, with the face box mapped into it.
func thumbCanvas(thumb []byte, b frame.Box) (image.Image, frame.Box, error) {
	src, err := jpeg.Decode(bytes.NewReader(thumb))
	if err != nil {
		return nil, frame.Box{}, err
	}
	w, h := float32(src.Bounds().Dx()), float32(src.Bounds().Dy())
	if w < 1 || h < 1 || b.W <= 0 || b.H <= 0 {
		return nil, frame.Box{}, errors.New("empty thumbnail or box")
	}
	// The crop's origin is known; its far edges may have been clamped to
	// the frame, which only shrinks them, so the smaller of the two scale
	// estimates is the unclamped, true one.
	x0, y0 := max(b.X-b.W/4, 0), max(b.Y-b.H/4, 0)
	s := min((b.X+b.W*5/4-x0)/w, (b.Y+b.H*5/4-y0)/h)
	if max(w, h) < pipelineThumbSide-1 {
		s = 1 // the pipeline only scales crops larger than its thumbnail size
	}
	s = max(s, 1e-3)
	k := max(1, float32(thumbSide)/min(w, h))
	dst := image.NewRGBA(image.Rect(0, 0, int(w*k), int(h*k)))
	xdraw.CatmullRom.Scale(dst, dst.Bounds(), src, src.Bounds(), xdraw.Src, nil)
	box := frame.Box{X: (b.X - x0) / s * k, Y: (b.Y - y0) / s * k, W: b.W / s * k, H: b.H / s * k}
	return dst, box, nil
}

// FrameImage wraps a packed RGB or BGR frame as an image.Image without
// copying. The caller keeps f.Pix unchanged while the image is in use (hand
// the bridge a copy: Event.Image belongs to the bridge).
func FrameImage(f frame.Frame) image.Image { return frameImage{f} }

type frameImage struct{ f frame.Frame }

// ColorModel is RGBA.
func (i frameImage) ColorModel() color.Model { return color.RGBAModel }

// Bounds is the frame.
func (i frameImage) Bounds() image.Rectangle { return image.Rect(0, 0, i.f.Width, i.f.Height) }

// At reads one packed pixel.
func (i frameImage) At(x, y int) color.Color {
	if x < 0 || y < 0 || x >= i.f.Width || y >= i.f.Height {
		return color.RGBA{}
	}
	o := y*i.f.Stride + 3*x
	if o+2 >= len(i.f.Pix) {
		return color.RGBA{}
	}
	p := i.f.Pix[o : o+3 : o+3]
	if i.f.Format == frame.BGR {
		return color.RGBA{p[2], p[1], p[0], 0xff}
	}
	return color.RGBA{p[0], p[1], p[2], 0xff}
}
