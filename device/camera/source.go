package camera

import (
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
)

// Kind is the kind of capture a source string names.
type Kind uint8

const (
	// Device is a V4L2 camera: /dev/videoN or an index N.
	Device Kind = iota
	// GStreamer is a GStreamer pipeline ("gst:..."), e.g. libcamerasrc on a
	// Raspberry Pi or nvarguscamerasrc on a Jetson.
	GStreamer
	// Stream is a network stream: rtsp://, http:// or https://.
	Stream
	// File is a video file, paced at its frame rate.
	File
	// Image is a still image, offered as a frame (again and again with Loop).
	Image
)

// String names the kind.
func (k Kind) String() string {
	switch k {
	case Device:
		return "device"
	case GStreamer:
		return "gstreamer"
	case Stream:
		return "stream"
	case File:
		return "file"
	case Image:
		return "image"
	}
	return "unknown"
}

// live reports whether the kind paces itself (cameras and streams); files
// and images are paced by the source so they behave like a camera.
func (k Kind) live() bool { return k == Device || k == GStreamer || k == Stream }

// spec is a parsed source string.
type spec struct {
	kind   Kind
	index  int    // Device by index; -1 when a path is given
	target string // device path, pipeline, URL or file path
}

// errEmptySource is returned for a config without a source.
var errEmptySource = errors.New("camera: empty source")

// imageExts are the still-image file name extensions OpenCV decodes.
var imageExts = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".bmp": true, ".webp": true,
	".pgm": true, ".ppm": true, ".pnm": true, ".tif": true, ".tiff": true,
}

// appsinkTail ends a GStreamer pipeline that has no appsink of its own:
// OpenCV reads BGR from an appsink that keeps only the newest buffer, so a
// slow reader drops frames inside GStreamer instead of queueing them.
const appsinkTail = " ! videoconvert ! video/x-raw,format=BGR ! appsink drop=true max-buffers=1 sync=false"

// parseSource decides what a source string names. It only looks at the
// string: whether the thing exists is found out when it is opened (and
// retried), because a camera may be plugged in later.
func parseSource(s string) (spec, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return spec{}, errEmptySource
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n < 0 {
			return spec{}, fmt.Errorf("camera: negative device index %d", n)
		}
		return spec{kind: Device, index: n, target: s}, nil
	}
	if p, ok := strings.CutPrefix(s, "gst:"); ok {
		p = strings.TrimSpace(p)
		if p == "" {
			return spec{}, errors.New("camera: empty GStreamer pipeline after gst:")
		}
		if !strings.Contains(p, "appsink") {
			p += appsinkTail
		}
		return spec{kind: GStreamer, index: -1, target: p}, nil
	}
	if i := strings.Index(s, "://"); i > 0 {
		u, err := url.Parse(s)
		if err != nil {
			return spec{}, fmt.Errorf("camera: bad stream URL: %w", err)
		}
		switch strings.ToLower(u.Scheme) {
		case "rtsp", "rtsps", "http", "https":
		default:
			return spec{}, fmt.Errorf("camera: unsupported URL scheme %q (want rtsp, http or https)", u.Scheme)
		}
		if u.Host == "" {
			return spec{}, fmt.Errorf("camera: stream URL %q has no host", Redact(s))
		}
		return spec{kind: Stream, index: -1, target: s}, nil
	}
	if strings.HasPrefix(s, "/dev/") {
		return spec{kind: Device, index: -1, target: s}, nil
	}
	if imageExts[strings.ToLower(filepath.Ext(s))] {
		return spec{kind: Image, index: -1, target: s}, nil
	}
	return spec{kind: File, index: -1, target: s}, nil
}

// Redact hides the password of a URL's user info, so stream credentials
// never reach a log line or an error shown on the web page.
func Redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
