package gallery

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // photos from phones and cameras
	_ "image/png"  // screenshots, exports
	"io"

	"facegate/pipeline/frame/exif"
)

// Limits of DecodeImage.
const (
	// MaxImageBytes bounds an uploaded or MQTT-sent photo.
	MaxImageBytes = 16 << 20
	// MaxImagePixels bounds its decoded size (checked from the header,
	// before the pixels are allocated): 40 megapixels.
	MaxImagePixels = 40 << 20
)

// ErrBadImage marks data that is not a usable JPEG or PNG photo.
var ErrBadImage = errors.New("not a usable JPEG or PNG image")

// DecodeImage decodes a JPEG or PNG photo from r (at most MaxImageBytes),
// refusing images over MaxImagePixels before decoding them, and turns a
// JPEG upright according to its EXIF orientation, as phones record
// portrait photos sideways with an orientation tag. The web API and MQTT
// use it for photos to enroll.
func DecodeImage(r io.Reader) (image.Image, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("gallery: read image: %w", err)
	}
	if len(data) > MaxImageBytes {
		return nil, fmt.Errorf("%w: larger than %d MiB", ErrBadImage, MaxImageBytes>>20)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadImage, err)
	}
	if format != "jpeg" && format != "png" {
		return nil, fmt.Errorf("%w: %s", ErrBadImage, format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return nil, fmt.Errorf("%w: %d×%d pixels, at most %d megapixels", ErrBadImage, cfg.Width, cfg.Height, MaxImagePixels>>20)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadImage, err)
	}
	return exif.Upright(data, img), nil
}
