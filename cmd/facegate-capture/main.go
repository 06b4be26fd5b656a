// Command facegate-capture is facegate's capture helper. The daemon starts
// it for a source it does not read in process (a GStreamer pipeline, a
// network stream, a video file other than Y4M or MJPEG, a camera without
// YUYV or MJPEG), sends it the source as JSON on stdin and reads frames
// from its stdout. It links OpenCV, so the daemon does not have to; and a
// crash in a GStreamer plugin ends this process, not the front door.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"facegate/device/camera"
	"facegate/device/opencv"
	"facegate/pipeline/frame"
)

// version is set at link time (-ldflags "-X main.version=...").
var version = "dev"

// Exit codes: the source ended (0), could not be opened (2), failed while
// reading (1), or the daemon stopped listening (3).
const (
	exitOpen  = 2
	exitRead  = 1
	exitWrite = 3
)

func main() {
	if len(os.Args) > 1 {
		if os.Args[1] == "version" || os.Args[1] == "--version" {
			fmt.Println(version)
			return
		}
		fmt.Fprintf(os.Stderr, "%s is started by facegate; it takes no arguments.\n"+
			"It reads {\"source\":…,\"width\":…,\"height\":…,\"fps\":…} on stdin and writes frames on stdout.\n", camera.HelperName)
		os.Exit(exitOpen)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run serves one request and returns the exit code. Its last line on
// stderr, when it fails, is what the daemon reports.
func run(ctx context.Context, in io.Reader, out, errw io.Writer) int {
	req, src, err := camera.ReadHelperRequest(in)
	if err != nil {
		fmt.Fprintln(errw, err)
		return exitOpen
	}
	c, err := opencv.Open(src, req.Width, req.Height, req.FPS)
	if err != nil {
		fmt.Fprintln(errw, err)
		return exitOpen
	}
	defer c.Close()
	var f frame.Frame
	for ctx.Err() == nil {
		if err := c.Read(&f); err != nil {
			if errors.Is(err, io.EOF) {
				return 0
			}
			fmt.Fprintf(errw, "read %s %s: %v\n", src.Kind, camera.Redact(src.Target), err)
			return exitRead
		}
		if err := camera.WriteFrame(out, &f, c.FPS()); err != nil {
			return exitWrite
		}
	}
	return 0
}
