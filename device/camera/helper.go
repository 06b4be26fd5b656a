package camera

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"facegate/pipeline/frame"
)

// HelperName is the capture helper's executable: it reads the sources the
// daemon cannot read in process (GStreamer pipelines, network streams,
// other video files and camera formats) through OpenCV, in a process of its
// own, and writes frames to its stdout (see WriteFrame).
const HelperName = "facegate-capture"

// HelperRequest is what the daemon sends the helper on its stdin: the
// source goes there rather than on the command line, where a stream's
// password would be visible to every user of the machine.
type HelperRequest struct {
	Source string  `json:"source"`
	Width  int     `json:"width,omitempty"`
	Height int     `json:"height,omitempty"`
	FPS    float64 `json:"fps,omitempty"`
}

// maxRequest bounds a HelperRequest on the helper's stdin.
const maxRequest = 64 << 10

// ReadHelperRequest reads and checks the request the helper gets on stdin,
// returning the parsed source as Open would see it.
func ReadHelperRequest(r io.Reader) (HelperRequest, Source, error) {
	var req HelperRequest
	dec := json.NewDecoder(io.LimitReader(r, maxRequest))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return req, Source{}, fmt.Errorf("capture helper: bad request: %w", err)
	}
	cfg := Config{Source: req.Source, Width: req.Width, Height: req.Height, FPS: req.FPS}
	sp, err := cfg.validate()
	if err != nil {
		return req, Source{}, err
	}
	return req, Source{Kind: sp.kind, Index: sp.index, Target: sp.target}, nil
}

// ParseSource parses a source string as Open does (without opening it).
func ParseSource(s string) (Source, error) {
	sp, err := parseSource(s)
	if err != nil {
		return Source{}, err
	}
	return Source{Kind: sp.kind, Index: sp.index, Target: sp.target}, nil
}

// Source is a parsed source string: its kind, the device index (-1 when
// a path is given) and what to open (device path, pipeline, URL or file).
type Source struct {
	Kind   Kind
	Index  int
	Target string
}

// helperTimeout bounds how long the helper may take to deliver its first
// frame: opening an RTSP stream or a GStreamer pipeline can be slow, but
// not this slow; the Camera retries after it.
const helperTimeout = 60 * time.Second

// findHelper returns the helper's path: the configured one, else the one
// installed next to the running executable, else the one on $PATH.
func findHelper(configured string) (string, error) {
	if configured != "" {
		return configured, nil
	}
	if exe, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(exe), HelperName)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	p, err := exec.LookPath(HelperName)
	if err != nil {
		return "", fmt.Errorf("%s is installed neither next to this program nor on PATH", HelperName)
	}
	return p, nil
}

// helperCapture is a source read by the capture helper process.
type helperCapture struct {
	cmd    *exec.Cmd
	out    io.ReadCloser
	wr     wireReader
	rate   float64
	first  frame.Frame // the frame read while opening, delivered first
	queued bool
	errs   *tail
	waited chan struct{} // closed once the process has been reaped
	werr   error         // the process's exit, valid after waited
	once   sync.Once
}

// openHelper starts the helper for s and waits for its first frame, so
// that a source the helper cannot open fails here, like a native one.
func openHelper(ctx context.Context, s spec, cfg Config) (capture, error) {
	path, err := findHelper(cfg.Helper)
	if err != nil {
		return nil, fmt.Errorf("%s %s needs the capture helper: %w", s.kind, Redact(s.target), err)
	}
	req, err := json.Marshal(HelperRequest{Source: cfg.Source, Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS})
	if err != nil {
		return nil, err
	}
	lg := cfg.Logger
	if lg == nil {
		lg = slog.Default()
	}
	cmd := exec.CommandContext(ctx, path)
	cmd.Stdin = bytes.NewReader(append(req, '\n'))
	errs := &tail{log: lg.With("component", "camera", "helper", HelperName)}
	cmd.Stderr = errs
	cmd.WaitDelay = 2 * time.Second
	setHelperAttrs(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	h := &helperCapture{cmd: cmd, out: out, errs: errs, waited: make(chan struct{})}
	h.wr.r = bufio.NewReaderSize(out, 64<<10)
	// Wait for the first frame, but no longer than helperTimeout: killing
	// the process ends the blocked read.
	timer := time.AfterFunc(helperTimeout, func() { _ = cmd.Process.Kill() })
	rate, err := h.wr.readFrame(&h.first)
	timer.Stop()
	if err != nil {
		err = h.fail(err)
		h.close()
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s %s: the capture helper delivered no frame", s.kind, Redact(s.target))
		}
		return nil, err
	}
	h.rate, h.queued = rate, true
	return h, nil
}

// fail turns a read error into the helper's own account of what went
// wrong: it has exited (or is killed now) and said why on stderr.
func (h *helperCapture) fail(err error) error {
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		// A broken stream: stop the helper now; the break is the news.
		_ = h.cmd.Process.Kill()
		h.reap()
		return err
	}
	// It is exiting: give it a moment to say why.
	kill := time.AfterFunc(2*time.Second, func() { _ = h.cmd.Process.Kill() })
	h.reap()
	kill.Stop()
	if h.werr == nil && errors.Is(err, io.EOF) {
		return io.EOF // the helper ended the stream cleanly (end of file)
	}
	if msg := h.errs.last(); msg != "" {
		return fmt.Errorf("capture helper: %s", msg)
	}
	if h.werr != nil {
		return fmt.Errorf("capture helper: %w", h.werr)
	}
	return err
}

// reap waits for the process once.
func (h *helperCapture) reap() {
	h.once.Do(func() {
		_ = h.out.Close()
		h.werr = h.cmd.Wait()
		close(h.waited)
	})
}

func (h *helperCapture) read(dst *frame.Frame) error {
	if h.queued {
		h.queued = false
		// Hand over the first frame's buffer instead of copying it.
		*dst, h.first = h.first, frame.Frame{Pix: dst.Pix}
		return nil
	}
	if _, err := h.wr.readFrame(dst); err != nil {
		return h.fail(err)
	}
	return nil
}

func (h *helperCapture) fps() float64 { return h.rate }

// close stops the helper (it holds the device or stream) and reaps it.
func (h *helperCapture) close() {
	select {
	case <-h.waited:
	default:
		_ = h.cmd.Process.Kill()
	}
	h.reap()
}

// tail keeps the last lines the helper wrote to stderr, for the error the
// Camera reports, and passes each line to the debug log (OpenCV and
// GStreamer warn freely).
type tail struct {
	log   *slog.Logger
	mu    sync.Mutex
	buf   []byte
	lines []string
}

const (
	tailLines   = 4
	tailLineMax = 512
)

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	for {
		i := bytes.IndexByte(t.buf, '\n')
		if i < 0 {
			if len(t.buf) > tailLineMax {
				t.add(string(t.buf[:tailLineMax]))
				t.buf = t.buf[:0]
			}
			return len(p), nil
		}
		t.add(string(t.buf[:i]))
		t.buf = t.buf[i+1:]
	}
}

func (t *tail) add(line string) {
	line = strings.TrimSpace(line)
	if line == "" {
		return
	}
	if len(line) > tailLineMax {
		line = line[:tailLineMax]
	}
	t.log.Debug("capture helper says", "line", line)
	t.lines = append(t.lines, line)
	if len(t.lines) > tailLines {
		t.lines = t.lines[1:]
	}
}

// last returns the helper's last line on stderr ("" when none).
func (t *tail) last() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if rest := strings.TrimSpace(string(t.buf)); rest != "" {
		return rest
	}
	if len(t.lines) == 0 {
		return ""
	}
	return t.lines[len(t.lines)-1]
}
