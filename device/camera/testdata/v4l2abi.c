/* Prints the kernel's V4L2 ABI facts that v4l2_linux.go mirrors in Go, one
 * "name value" pair per line; TestV4L2ABI compares them with the Go side. */
#include <stddef.h>
#include <stdio.h>
#include <linux/videodev2.h>

#define P(name, v) printf("%s %lu\n", name, (unsigned long)(v))
#define SIZE(s) P("sizeof " #s, sizeof(struct s))
#define OFF(s, f) P("offsetof " #s "." #f, offsetof(struct s, f))

int main(void) {
	P("sizeof pointer", sizeof(void *));

	SIZE(v4l2_capability);
	OFF(v4l2_capability, capabilities);
	OFF(v4l2_capability, device_caps);

	SIZE(v4l2_fmtdesc);
	OFF(v4l2_fmtdesc, flags);
	OFF(v4l2_fmtdesc, pixelformat);

	SIZE(v4l2_pix_format);
	OFF(v4l2_pix_format, pixelformat);
	OFF(v4l2_pix_format, field);
	OFF(v4l2_pix_format, bytesperline);
	OFF(v4l2_pix_format, sizeimage);
	OFF(v4l2_pix_format, xfer_func);

	SIZE(v4l2_format);
	OFF(v4l2_format, fmt);

	SIZE(v4l2_requestbuffers);
	OFF(v4l2_requestbuffers, memory);
	OFF(v4l2_requestbuffers, flags);

	SIZE(v4l2_buffer);
	OFF(v4l2_buffer, bytesused);
	OFF(v4l2_buffer, flags);
	OFF(v4l2_buffer, field);
	OFF(v4l2_buffer, timestamp);
	OFF(v4l2_buffer, timecode);
	OFF(v4l2_buffer, sequence);
	OFF(v4l2_buffer, memory);
	OFF(v4l2_buffer, m);
	OFF(v4l2_buffer, m.offset);
	OFF(v4l2_buffer, length);
	OFF(v4l2_buffer, reserved2);
	OFF(v4l2_buffer, request_fd);
	SIZE(v4l2_timecode);

	SIZE(v4l2_streamparm);
	OFF(v4l2_streamparm, parm);
	SIZE(v4l2_captureparm);
	OFF(v4l2_captureparm, capability);
	OFF(v4l2_captureparm, timeperframe);
	OFF(v4l2_captureparm, readbuffers);

	P("VIDIOC_QUERYCAP", VIDIOC_QUERYCAP);
	P("VIDIOC_ENUM_FMT", VIDIOC_ENUM_FMT);
	P("VIDIOC_S_FMT", VIDIOC_S_FMT);
	P("VIDIOC_REQBUFS", VIDIOC_REQBUFS);
	P("VIDIOC_QUERYBUF", VIDIOC_QUERYBUF);
	P("VIDIOC_QBUF", VIDIOC_QBUF);
	P("VIDIOC_DQBUF", VIDIOC_DQBUF);
	P("VIDIOC_STREAMON", VIDIOC_STREAMON);
	P("VIDIOC_STREAMOFF", VIDIOC_STREAMOFF);
	P("VIDIOC_G_PARM", VIDIOC_G_PARM);
	P("VIDIOC_S_PARM", VIDIOC_S_PARM);

	P("V4L2_BUF_TYPE_VIDEO_CAPTURE", V4L2_BUF_TYPE_VIDEO_CAPTURE);
	P("V4L2_MEMORY_MMAP", V4L2_MEMORY_MMAP);
	P("V4L2_FIELD_NONE", V4L2_FIELD_NONE);
	P("V4L2_CAP_VIDEO_CAPTURE", V4L2_CAP_VIDEO_CAPTURE);
	P("V4L2_CAP_VIDEO_CAPTURE_MPLANE", V4L2_CAP_VIDEO_CAPTURE_MPLANE);
	P("V4L2_CAP_STREAMING", V4L2_CAP_STREAMING);
	P("V4L2_CAP_DEVICE_CAPS", V4L2_CAP_DEVICE_CAPS);
	P("V4L2_CAP_TIMEPERFRAME", V4L2_CAP_TIMEPERFRAME);
	P("V4L2_BUF_FLAG_ERROR", V4L2_BUF_FLAG_ERROR);
	P("V4L2_PIX_FMT_YUYV", V4L2_PIX_FMT_YUYV);
	P("V4L2_PIX_FMT_MJPEG", V4L2_PIX_FMT_MJPEG);
	P("V4L2_PIX_FMT_JPEG", V4L2_PIX_FMT_JPEG);
	return 0;
}
