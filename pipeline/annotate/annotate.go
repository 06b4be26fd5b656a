// Package annotate draws faces on pictures: boxes, and names in any script
// the font covers (NanumGothic covers Hangul and Latin). The MQTT snapshot
// and the web page's camera snapshot both use it.
package annotate

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"log/slog"
	"os"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"facegate/pipeline/frame"
)

// DefaultFontPath is NanumGothic from Debian's fonts-nanum (OFL).
const DefaultFontPath = "/usr/share/fonts/truetype/nanum/NanumGothic.ttf"

// Label is one face to draw.
type Label struct {
	Box  frame.Box
	Name string // empty: drawn as "unknown"
}

// Snapshot colours: known faces green, unknown orange, text white.
var (
	knownColor   = color.RGBA{0x2e, 0xcc, 0x71, 0xff}
	unknownColor = color.RGBA{0xff, 0x8c, 0x00, 0xff}
	textColor    = color.RGBA{0xff, 0xff, 0xff, 0xff}
)

// maxSnapshotPixels bounds the frames the bridge draws on.
const maxSnapshotPixels = 16_000_000

// Painter draws boxes and names on snapshots. The font is loaded on first
// use; without it boxes are still drawn and that is logged once. A painter
// belongs to one goroutine: font faces are not safe for concurrent use.
type Painter struct {
	path   string
	log    *slog.Logger
	tried  bool
	font   *opentype.Font
	faces  map[int]font.Face // by pixel size
	warned bool
}

// NewPainter returns a painter that loads the font at path on first use.
func NewPainter(path string, log *slog.Logger) *Painter {
	if log == nil {
		log = slog.Default()
	}
	return &Painter{path: path, log: log, faces: map[int]font.Face{}}
}

// load reads and parses the font once.
func (p *Painter) load() {
	if p.tried {
		return
	}
	p.tried = true
	data, err := os.ReadFile(p.path)
	if err == nil {
		p.font, err = opentype.Parse(data)
	}
	if err != nil {
		p.log.Warn("no font for snapshot names; boxes are drawn without names (install fonts-nanum or set the font path)",
			"font", p.path, "err", err)
	}
}

// face returns the font face for a pixel size, or nil without a font.
func (p *Painter) face(size int) font.Face {
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
			p.log.Warn("snapshot font face", "err", err)
		}
		return nil
	}
	p.faces[size] = f
	return f
}

// Render draws the labels on a copy of img and encodes it as JPEG.
func (p *Painter) Render(img image.Image, labels []Label) ([]byte, error) {
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
