package camera

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"

	"facegate/pipeline/frame"
)

// sizeBGR makes dst a packed w×h BGR frame, reusing its buffer when it is
// big enough, so a steady stream of same-sized frames allocates nothing.
func sizeBGR(dst *frame.Frame, w, h int) {
	n := w * h * 3
	if cap(dst.Pix) < n {
		dst.Pix = make([]byte, n)
	}
	dst.Pix = dst.Pix[:n]
	dst.Width, dst.Height, dst.Stride, dst.Format = w, h, 3*w, frame.BGR
}

// clamp8 saturates a fixed-point (8 fractional bits) colour value to a byte.
func clamp8(v int32) byte {
	v >>= 8
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return byte(v)
}

// planar describes a planar YCbCr image; Cb and Cr are nil for grey.
type planar struct {
	y, cb, cr      []byte
	w, h           int
	yStride        int
	cStride        int
	hShift, vShift uint // chroma subsampling: 4:2:0 is 1,1; 4:2:2 is 1,0; 4:4:4 is 0,0
	full           bool
}

// toBGR converts p into dst (sized w×h).
func (p planar) toBGR(dst *frame.Frame) error {
	need := func(b []byte, stride, rows, cols int) bool {
		return rows == 0 || cols == 0 || (stride >= cols && len(b) >= stride*(rows-1)+cols)
	}
	cw, ch := (p.w+(1<<p.hShift)-1)>>p.hShift, (p.h+(1<<p.vShift)-1)>>p.vShift
	if p.w <= 0 || p.h <= 0 || !need(p.y, p.yStride, p.h, p.w) ||
		(p.cb != nil && (!need(p.cb, p.cStride, ch, cw) || !need(p.cr, p.cStride, ch, cw))) {
		return fmt.Errorf("planar frame %dx%d: planes too short", p.w, p.h)
	}
	sizeBGR(dst, p.w, p.h)
	for row := 0; row < p.h; row++ {
		ys := p.y[row*p.yStride : row*p.yStride+p.w]
		out := dst.Pix[row*dst.Stride : row*dst.Stride+3*p.w]
		if p.cb == nil {
			for x, v := range ys {
				out[3*x], out[3*x+1], out[3*x+2] = v, v, v
			}
			continue
		}
		co := (row >> p.vShift) * p.cStride
		cbs, crs := p.cb[co:co+cw], p.cr[co:co+cw]
		// BT.601 in fixed point (8 fractional bits), written into the loops:
		// a function per pixel is not inlined and costs a third.
		hs := p.hShift
		if p.full {
			for x, v := range ys {
				cx := x >> hs
				o := out[3*x : 3*x+3 : 3*x+3]
				yy, cb, cr := int32(v)<<8+128, int32(cbs[cx])-128, int32(crs[cx])-128
				o[0], o[1], o[2] = clamp8(yy+454*cb), clamp8(yy-88*cb-183*cr), clamp8(yy+359*cr)
			}
			continue
		}
		for x, v := range ys {
			cx := x >> hs
			o := out[3*x : 3*x+3 : 3*x+3]
			yy, cb, cr := (int32(v)-16)*298+128, int32(cbs[cx])-128, int32(crs[cx])-128
			o[0], o[1], o[2] = clamp8(yy+516*cb), clamp8(yy-100*cb-208*cr), clamp8(yy+409*cr)
		}
	}
	return nil
}

// yuyvToBGR converts a packed 4:2:2 YUYV frame (V4L2_PIX_FMT_YUYV, video
// range) of w×h with the given bytes per row into dst.
func yuyvToBGR(dst *frame.Frame, src []byte, w, h, stride int) error {
	if w <= 0 || h <= 0 || w%2 != 0 || stride < 2*w || len(src) < stride*(h-1)+2*w {
		return fmt.Errorf("yuyv frame %dx%d (stride %d): %d bytes is too short or odd-sized", w, h, stride, len(src))
	}
	sizeBGR(dst, w, h)
	for row := 0; row < h; row++ {
		in := src[row*stride : row*stride+2*w]
		out := dst.Pix[row*dst.Stride : row*dst.Stride+3*w]
		for x := 0; x+1 < w; x += 2 {
			q := in[2*x : 2*x+4 : 2*x+4]
			o := out[3*x : 3*x+6 : 3*x+6]
			// Video range as in planar.toBGR; the two pixels share their
			// chroma terms.
			cb, cr := int32(q[1])-128, int32(q[3])-128
			bc, gc, rc := 516*cb+128, -100*cb-208*cr+128, 409*cr+128
			y0, y1 := (int32(q[0])-16)*298, (int32(q[2])-16)*298
			o[0], o[1], o[2] = clamp8(y0+bc), clamp8(y0+gc), clamp8(y0+rc)
			o[3], o[4], o[5] = clamp8(y1+bc), clamp8(y1+gc), clamp8(y1+rc)
		}
	}
	return nil
}

// jpegDecoder decodes JPEG frames (MJPEG cameras and files) into BGR:
// with libjpeg-turbo where it can, else with image/jpeg (which allocates
// its planes per frame), so a frame libjpeg refuses gets a second opinion.
// close releases libjpeg's state.
type jpegDecoder struct {
	turbo turboJPEG
	r     bytes.Reader
	jpg   []byte // a frame with the default Huffman tables inserted
}

// decode decodes one JPEG image into dst.
func (d *jpegDecoder) decode(dst *frame.Frame, data []byte) error {
	// libjpeg-turbo supplies the default Huffman tables of frames that
	// omit them (UVC cameras); image/jpeg needs them written in.
	if d.turbo.decode(dst, data) == nil {
		return nil
	}
	if at, ok := jpegLacksHuffman(data); ok {
		d.jpg = append(d.jpg[:0], data[:at]...)
		d.jpg = appendDefaultHuffman(d.jpg)
		d.jpg = append(d.jpg, data[at:]...)
		data = d.jpg
	}
	d.r.Reset(data)
	img, err := jpeg.Decode(&d.r)
	if err != nil {
		return fmt.Errorf("decode JPEG frame: %w", err)
	}
	b := img.Bounds()
	switch m := img.(type) {
	case *image.YCbCr:
		return ycbcrToBGR(dst, m, true)
	case *image.Gray:
		return planar{y: m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], w: b.Dx(), h: b.Dy(), yStride: m.Stride}.toBGR(dst)
	}
	return toBGRGeneric(dst, img)
}

// ycbcrToBGR converts a YCbCr image with a subsampling planar knows, and
// anything else the slow way.
func ycbcrToBGR(dst *frame.Frame, m *image.YCbCr, full bool) error {
	b := m.Bounds()
	p := planar{y: m.Y[m.YOffset(b.Min.X, b.Min.Y):], w: b.Dx(), h: b.Dy(), yStride: m.YStride, cStride: m.CStride, full: full}
	switch m.SubsampleRatio {
	case image.YCbCrSubsampleRatio420:
		p.hShift, p.vShift = 1, 1
	case image.YCbCrSubsampleRatio422:
		p.hShift = 1
	case image.YCbCrSubsampleRatio440:
		p.vShift = 1
	case image.YCbCrSubsampleRatio444:
	default:
		return toBGRGeneric(dst, m)
	}
	// planar indexes chroma from the image's top-left sample, which is
	// only right when the bounds start on a chroma sample.
	if b.Min.X&(1<<p.hShift-1) != 0 || b.Min.Y&(1<<p.vShift-1) != 0 {
		return toBGRGeneric(dst, m)
	}
	co := m.COffset(b.Min.X, b.Min.Y)
	p.cb, p.cr = m.Cb[co:], m.Cr[co:]
	return p.toBGR(dst)
}

// close releases the decoder's C state, if any.
func (d *jpegDecoder) close() { d.turbo.close() }

// toBGRGeneric converts any image (CMYK JPEGs, odd subsampling) through
// the slow image.Image interface.
func toBGRGeneric(dst *frame.Frame, img image.Image) error {
	b := img.Bounds()
	if b.Empty() {
		return fmt.Errorf("empty image")
	}
	sizeBGR(dst, b.Dx(), b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		out := dst.Pix[(y-b.Min.Y)*dst.Stride:]
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			i := 3 * (x - b.Min.X)
			out[i], out[i+1], out[i+2] = byte(bl>>8), byte(g>>8), byte(r>>8)
		}
	}
	return nil
}
