package rtc

/*
#cgo pkg-config: vpx
#include <stdlib.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vp8dx.h>

static vpx_codec_err_t fg_dec_init(vpx_codec_ctx_t *ctx) {
	vpx_codec_dec_cfg_t cfg = {0};
	cfg.threads = 1;
	return vpx_codec_dec_init(ctx, vpx_codec_vp8_dx(), &cfg, 0);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"facegate/pipeline/frame"
)

// vp8Decoder decodes whole VP8 frames with libvpx straight into a reused
// RGB frame: no allocation per frame (mediadevices' decoder allocates a new
// image per frame and takes its input through an io.Reader).
type vp8Decoder struct {
	ctx    *C.vpx_codec_ctx_t
	iter   C.vpx_codec_iter_t // a field, so passing its address to C does not allocate
	img    *C.vpx_image_t     // the picture of the last decodeOnly, owned by libvpx
	out    frame.Frame
	closed bool
}

func newVP8Decoder() (*vp8Decoder, error) {
	ctx := (*C.vpx_codec_ctx_t)(C.calloc(1, C.size_t(unsafe.Sizeof(C.vpx_codec_ctx_t{}))))
	if ctx == nil {
		return nil, errors.New("rtc: out of memory for the VP8 decoder")
	}
	if rc := C.fg_dec_init(ctx); rc != C.VPX_CODEC_OK {
		C.free(unsafe.Pointer(ctx))
		return nil, fmt.Errorf("rtc: VP8 decoder init: %s", C.GoString(C.vpx_codec_err_to_string(rc)))
	}
	return &vp8Decoder{ctx: ctx}, nil
}

// decode decodes one frame and returns the picture as RGB, valid until the
// next call. A frame that only updates decoder state returns nil.
func (d *vp8Decoder) decode(data []byte) (*frame.Frame, error) {
	w, h, err := d.decodeOnly(data)
	if err != nil || w == 0 {
		return nil, err
	}
	d.out.Width, d.out.Height, d.out.Stride = w, h, 3*w
	if need := 3 * w * h; cap(d.out.Pix) < need {
		d.out.Pix = make([]byte, need)
	} else {
		d.out.Pix = d.out.Pix[:need]
	}
	d.convert(&d.out)
	return &d.out, nil
}

// decodeOnly decodes one frame and keeps its picture for convert; it
// returns the picture's size, or 0, 0 when the frame showed nothing.
func (d *vp8Decoder) decodeOnly(data []byte) (w, h int, err error) {
	d.img = nil
	if d.closed {
		return 0, 0, errors.New("rtc: decoder closed")
	}
	if len(data) == 0 {
		return 0, 0, errors.New("rtc: empty VP8 frame")
	}
	// libvpx reads the buffer only during the call, so passing Go memory is
	// allowed (it contains no Go pointers).
	if rc := C.vpx_codec_decode(d.ctx, (*C.uint8_t)(unsafe.Pointer(&data[0])), C.uint(len(data)), nil, 0); rc != C.VPX_CODEC_OK {
		return 0, 0, fmt.Errorf("rtc: VP8 decode: %s", C.GoString(C.vpx_codec_err_to_string(rc)))
	}
	d.iter = nil
	var last *C.vpx_image_t
	for img := C.vpx_codec_get_frame(d.ctx, &d.iter); img != nil; img = C.vpx_codec_get_frame(d.ctx, &d.iter) {
		last = img
	}
	if last == nil {
		return 0, 0, nil
	}
	if last.fmt != C.VPX_IMG_FMT_I420 {
		return 0, 0, fmt.Errorf("rtc: VP8 image format %d, want I420", int(last.fmt))
	}
	w, h = int(last.d_w), int(last.d_h)
	if w <= 0 || h <= 0 || w > 4096 || h > 4096 {
		return 0, 0, fmt.Errorf("rtc: VP8 picture %dx%d out of range", w, h)
	}
	d.img = last
	return w, h, nil
}

// convert writes the picture of the last decodeOnly as packed RGB into dst,
// whose Width, Height, Stride and Pix the caller has sized for it: the
// browser camera decodes straight into the pipeline's frame buffer.
func (d *vp8Decoder) convert(dst *frame.Frame) {
	img := d.img
	w, h := dst.Width, dst.Height
	sy, su, sv := int(img.stride[0]), int(img.stride[1]), int(img.stride[2])
	y := unsafe.Slice((*byte)(unsafe.Pointer(img.planes[0])), sy*h)
	u := unsafe.Slice((*byte)(unsafe.Pointer(img.planes[1])), su*((h+1)/2))
	v := unsafe.Slice((*byte)(unsafe.Pointer(img.planes[2])), sv*((h+1)/2))
	dst.Format = frame.RGB
	i420ToRGB(dst.Pix, w, h, y, sy, u, su, v, sv)
}

func (d *vp8Decoder) close() {
	if d.closed {
		return
	}
	d.closed = true
	C.vpx_codec_destroy(d.ctx)
	C.free(unsafe.Pointer(d.ctx))
}
