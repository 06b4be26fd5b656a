package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	_ "image/gif" // decoders for decodeImageFile
	_ "image/jpeg"
	_ "image/png"
	"io"
	"io/fs"
	"math"
	"os"

	_ "golang.org/x/image/bmp"
	_ "golang.org/x/image/webp"

	"facegate/models/blazeface"
	"facegate/models/facenet"
	"facegate/pipeline/frame"
	"facegate/pipeline/frame/exif"
)

// loadVision builds a detector ("short" or "full") and an embedder with
// the embedded models. The caller closes both.
func loadVision(model string, threads int) (*blazeface.Detector, *facenet.Embedder, error) {
	det, err := blazeface.New(blazeface.Options{Model: model, Threads: threads})
	if err != nil {
		return nil, nil, err
	}
	emb, err := facenet.New(facenet.Options{Threads: threads})
	if err != nil {
		det.Close()
		return nil, nil, err
	}
	return det, emb, nil
}

// maxImageBytes bounds what decodeImageFile reads (a 50 MB photo is
// already absurd for a face).
const maxImageBytes = 64 << 20

// maxImagePixels bounds the decoded size, checked from the header before
// the pixels are allocated.
const maxImagePixels = 64 << 20

// decodeImageFile reads a JPEG, PNG, GIF, BMP or WebP file and returns its
// upright image: a JPEG's EXIF orientation (as phones write it) is applied.
func decodeImageFile(path string) (image.Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read: %w", path, pathless(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxImageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: cannot read: %w", path, pathless(err))
	}
	if len(data) > maxImageBytes {
		return nil, fmt.Errorf("%s: larger than %d MB", path, maxImageBytes>>20)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: not a readable image: %w", path, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return nil, fmt.Errorf("%s: unsupported image size %d×%d", path, cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %s image is damaged: %w", path, format, err)
	}
	return exif.Upright(data, img), nil
}

// pathless drops the operation and path of an *fs.PathError, which the
// caller already names.
func pathless(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// jsonFace is a detection as the MediaPipe reference files write it.
type jsonFace struct {
	Score     float32          `json:"score"`
	Box       [4]float32       `json:"box"`
	Keypoints [6][2]float32    `json:"keypoints"`
	Quality   *facenet.Quality `json:"quality,omitempty"`
	Embedding []float32        `json:"embedding,omitempty"`
}

func toJSONFace(f frame.Face) jsonFace {
	j := jsonFace{Score: f.Score, Box: [4]float32{f.Box.X, f.Box.Y, f.Box.W, f.Box.H}}
	for k, p := range f.Keypoints {
		j.Keypoints[k] = [2]float32{p.X, p.Y}
	}
	return j
}

// visionFlags are the flags shared by detect and embed.
type visionFlags struct {
	model    string
	minScore float64
	threads  int
}

func parseVisionFlags(name string, s stdio, args []string, withMin bool) (visionFlags, []string, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(s.err)
	var v visionFlags
	fs.StringVar(&v.model, "model", "short", "detector: short (faces within ~2 m) or full (farther)")
	if withMin {
		fs.Float64Var(&v.minScore, "min-score", 0.5, "minimum detection score")
	}
	fs.IntVar(&v.threads, "threads", 1, "inference threads")
	fs.Usage = func() {
		fmt.Fprintf(s.err, "usage: facegate %s [flags] IMAGE...\n", name)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return v, nil, errUsage
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return v, nil, errUsage
	}
	if v.model != "short" && v.model != "full" {
		fmt.Fprintf(s.err, "facegate %s: --model must be short or full, not %q\n", name, v.model)
		return v, nil, errUsage
	}
	if withMin && !(v.minScore > 0 && v.minScore <= 1) {
		fmt.Fprintf(s.err, "facegate %s: --min-score must be in (0, 1]\n", name)
		return v, nil, errUsage
	}
	if v.threads < 1 {
		fmt.Fprintf(s.err, "facegate %s: --threads must be at least 1\n", name)
		return v, nil, errUsage
	}
	return v, fs.Args(), nil
}

// eachImage decodes every file and calls fn for it; a file that fails gets
// an error line on stderr and the others are still processed.
func eachImage(ctx context.Context, s stdio, cmd string, files []string, fn func(path string, img image.Image) error) error {
	failed := false
	for _, path := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		img, err := decodeImageFile(path)
		if err == nil {
			err = fn(path, img)
		}
		if err != nil {
			fmt.Fprintf(s.err, "facegate %s: %s: %v\n", cmd, path, unwrapPath(err, path))
			failed = true
		}
	}
	if failed {
		return errReported
	}
	return nil
}

// unwrapPath drops a leading "path: " that the error already carries.
func unwrapPath(err error, path string) string {
	msg := err.Error()
	if len(msg) > len(path)+2 && msg[:len(path)+2] == path+": " {
		return msg[len(path)+2:]
	}
	return msg
}

func runDetect(ctx context.Context, s stdio, args []string) error {
	v, files, err := parseVisionFlags("detect", s, args, true)
	if err != nil {
		return err
	}
	det, err := blazeface.New(blazeface.Options{Model: v.model, MinScore: float32(v.minScore), Threads: v.threads})
	if err != nil {
		return err
	}
	defer det.Close()
	out := bufio.NewWriter(s.out)
	defer out.Flush()
	enc := json.NewEncoder(out)
	return eachImage(ctx, s, "detect", files, func(path string, img image.Image) error {
		faces, err := det.DetectImage(img)
		if err != nil {
			return err
		}
		js := make([]jsonFace, len(faces))
		for i, f := range faces {
			js[i] = toJSONFace(f)
		}
		b := img.Bounds()
		err = enc.Encode(struct {
			File   string     `json:"file"`
			Width  int        `json:"width"`
			Height int        `json:"height"`
			Faces  []jsonFace `json:"faces"`
		}{path, b.Dx(), b.Dy(), js})
		if err == nil {
			err = out.Flush()
		}
		return err
	})
}

func runEmbed(ctx context.Context, s stdio, args []string) error {
	v, files, err := parseVisionFlags("embed", s, args, false)
	if err != nil {
		return err
	}
	det, emb, err := loadVision(v.model, v.threads)
	if err != nil {
		return err
	}
	defer det.Close()
	defer emb.Close()
	out := bufio.NewWriter(s.out)
	defer out.Flush()
	enc := json.NewEncoder(out)
	var al facenet.Aligned
	return eachImage(ctx, s, "embed", files, func(path string, img image.Image) error {
		faces, err := det.DetectImage(img)
		if err != nil {
			return err
		}
		js := make([]jsonFace, 0, len(faces))
		for _, f := range faces {
			e, a, err := emb.EmbedImage(img, f, &al)
			if err != nil {
				return err
			}
			q := facenet.Assess(f, a)
			j := toJSONFace(f)
			j.Quality, j.Embedding = &q, e.Vector
			js = append(js, j)
		}
		err = enc.Encode(struct {
			File  string     `json:"file"`
			Model string     `json:"model"`
			Faces []jsonFace `json:"faces"`
		}{path, emb.Model(), js})
		if err == nil {
			err = out.Flush()
		}
		return err
	})
}

// largestFace returns the face with the largest box.
func largestFace(faces []frame.Face) (frame.Face, bool) {
	best, ok := frame.Face{}, false
	for _, f := range faces {
		if !ok || f.Box.Area() > best.Box.Area() {
			best, ok = f, true
		}
	}
	return best, ok
}

func runCompare(ctx context.Context, s stdio, args []string) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(s.err)
	model := fs.String("model", "short", "detector: short or full")
	threads := fs.Int("threads", 1, "inference threads")
	fs.Usage = func() {
		fmt.Fprintln(s.err, "usage: facegate compare [flags] IMAGE_A IMAGE_B")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() != 2 || (*model != "short" && *model != "full") || *threads < 1 {
		fs.Usage()
		return errUsage
	}
	det, emb, err := loadVision(*model, *threads)
	if err != nil {
		return err
	}
	defer det.Close()
	defer emb.Close()
	var embs [2]frame.Embedding
	for i, path := range fs.Args() {
		if err := ctx.Err(); err != nil {
			return err
		}
		img, err := decodeImageFile(path)
		if err != nil {
			return err
		}
		faces, err := det.DetectImage(img)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		f, ok := largestFace(faces)
		if !ok {
			return fmt.Errorf("%s: no face found", path)
		}
		embs[i], _, err = emb.EmbedImage(img, f, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	sim, err := facenet.Similarity(embs[0], embs[1])
	if err != nil {
		return err
	}
	if math.IsNaN(float64(sim)) {
		return errors.New("similarity is not a number")
	}
	return json.NewEncoder(s.out).Encode(struct {
		Similarity float32 `json:"similarity"`
		Same       bool    `json:"same"`
		Threshold  float32 `json:"threshold"`
	}{sim, sim >= facenet.DefaultThreshold, facenet.DefaultThreshold})
}
