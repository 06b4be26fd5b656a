//go:build cgo

package camera

/*
#cgo LDFLAGS: -ljpeg
#include <stdio.h>
#include <stdlib.h>
#include <setjmp.h>
#include <jpeglib.h>
#include <jerror.h>

// fgjpeg carries libjpeg's state and where to jump back to on an error:
// libjpeg's default error handler would exit the process.
typedef struct {
	struct jpeg_decompress_struct d;
	struct jpeg_error_mgr err;
	jmp_buf jump;
	char msg[JMSG_LENGTH_MAX];
	int w, h;      // the last header's size
	int truncated; // the data ended before the image did
} fgjpeg;

static void fgjpeg_error_exit(j_common_ptr c) {
	fgjpeg *j = (fgjpeg *)c->client_data;
	(*c->err->format_message)(c, j->msg);
	longjmp(j->jump, 1);
}

// Warnings stay quiet (cameras send extraneous bytes now and then), but a
// frame whose data ends early is noted: libjpeg would fill the rest with
// grey, and the detector is better off without such a frame.
static void fgjpeg_emit_message(j_common_ptr c, int level) {
	if (level < 0 && c->err->msg_code == JWRN_JPEG_EOF) ((fgjpeg *)c->client_data)->truncated = 1;
}

static fgjpeg *fgjpeg_new(void) {
	fgjpeg *j = calloc(1, sizeof(fgjpeg));
	if (!j) return NULL;
	j->d.err = jpeg_std_error(&j->err);
	j->err.error_exit = fgjpeg_error_exit;
	j->err.emit_message = fgjpeg_emit_message;
	j->d.client_data = j;
	if (setjmp(j->jump)) { free(j); return NULL; }
	jpeg_create_decompress(&j->d);
	return j;
}

static void fgjpeg_free(fgjpeg *j) {
	jpeg_destroy_decompress(&j->d);
	free(j);
}

// fgjpeg_run decodes data into BGR rows of dst (cap bytes), one call so
// that libjpeg never holds Go memory between calls. It sets j->w and j->h
// from the header and returns 0 when done, 2 when dst is too small for
// them (nothing decoded), 1 on a JPEG error (the message in j->msg).
static int fgjpeg_run(fgjpeg *j, const unsigned char *data, unsigned long n,
		unsigned char *dst, size_t cap) {
	j->w = j->h = j->truncated = 0;
	if (setjmp(j->jump)) { jpeg_abort_decompress(&j->d); return 1; }
	jpeg_mem_src(&j->d, data, n);
	jpeg_read_header(&j->d, TRUE);
	j->w = j->d.image_width;
	j->h = j->d.image_height;
	size_t stride = (size_t)j->w * 3;
	if (j->w <= 0 || j->h <= 0 || stride * (size_t)j->h > cap) {
		jpeg_abort_decompress(&j->d);
		return 2;
	}
	j->d.out_color_space = JCS_EXT_BGR;
	// Chroma by replication, as image/jpeg does: the merged upsampler is
	// libjpeg-turbo's fastest 4:2:0 path, and a face detector does not
	// see the difference a smoothing filter makes.
	j->d.do_fancy_upsampling = FALSE;
	jpeg_start_decompress(&j->d);
	if (j->d.output_width != (JDIMENSION)j->w || j->d.output_height != (JDIMENSION)j->h || j->d.output_components != 3) {
		jpeg_abort_decompress(&j->d);
		snprintf(j->msg, sizeof j->msg, "unexpected output geometry");
		return 1;
	}
	while (j->d.output_scanline < j->d.output_height) {
		JSAMPROW row = dst + (size_t)j->d.output_scanline * stride;
		jpeg_read_scanlines(&j->d, &row, 1);
	}
	if (j->truncated) {
		jpeg_abort_decompress(&j->d);
		snprintf(j->msg, sizeof j->msg, "premature end of JPEG data");
		return 1;
	}
	jpeg_finish_decompress(&j->d);
	return 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"facegate/pipeline/frame"
)

// turboJPEG decodes JPEG frames with libjpeg-turbo straight into a BGR
// frame, faster than image/jpeg and without a fresh image per frame
// (libjpeg is on every board that has OpenCV or a browser). It is not
// safe for concurrent use.
type turboJPEG struct {
	j *C.fgjpeg
}

func (t *turboJPEG) decode(dst *frame.Frame, data []byte) error {
	if len(data) == 0 {
		return errors.New("decode JPEG frame: empty")
	}
	if t.j == nil {
		if t.j = C.fgjpeg_new(); t.j == nil {
			return errors.New("decode JPEG frame: libjpeg could not start")
		}
	}
	for range 2 { // a second time only when the frame size grew
		var out *C.uchar
		if cap(dst.Pix) > 0 {
			out = (*C.uchar)(unsafe.Pointer(unsafe.SliceData(dst.Pix[:1])))
		}
		rc := C.fgjpeg_run(t.j, (*C.uchar)(unsafe.Pointer(&data[0])), C.ulong(len(data)), out, C.size_t(cap(dst.Pix)))
		w, h := int(t.j.w), int(t.j.h)
		switch rc {
		case 0:
			sizeBGR(dst, w, h)
			return nil
		case 2:
			if w <= 0 || h <= 0 || w > maxSide || h > maxSide {
				return fmt.Errorf("decode JPEG frame: size %dx%d out of range", w, h)
			}
			sizeBGR(dst, w, h)
		default:
			return fmt.Errorf("decode JPEG frame: %s", C.GoString(&t.j.msg[0]))
		}
	}
	return errors.New("decode JPEG frame: size changed while decoding")
}

// close releases libjpeg's state.
func (t *turboJPEG) close() {
	if t.j != nil {
		C.fgjpeg_free(t.j)
		t.j = nil
	}
}
