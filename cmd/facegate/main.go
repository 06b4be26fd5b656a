// Command facegate is the face-recognition appliance daemon and its tools.
// Each subcommand lives in its own file; this one only dispatches.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"sort"
	"syscall"
)

// version is set at link time (-ldflags "-X main.version=...").
var version = "dev"

// stdio is what a subcommand may read and write.
type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// command is one subcommand: run gets the arguments after its name.
type command struct {
	summary string
	run     func(ctx context.Context, s stdio, args []string) error
}

// errUsage marks a usage error; the subcommand has already printed why.
var errUsage = errors.New("usage")

// errReported marks a failure already described on stderr (e.g. per file).
var errReported = errors.New("reported")

func commands() map[string]command {
	return map[string]command{
		"serve":    {"run the daemon (HTTPS, cameras, MQTT)", runServe},
		"detect":   {"detect faces in images, JSON lines", runDetect},
		"embed":    {"detect faces and compute embeddings, JSON lines", runEmbed},
		"compare":  {"compare the largest faces of two images", runCompare},
		"enroll":   {"enroll a person from photos", runEnroll},
		"identify": {"name the faces in images", runIdentify},
		"people":   {"list enrolled people", runPeople},
		"rename":   {"rename a person: rename ID NAME", runRename},
		"forget":   {"delete a person: forget NAME|ID", runForget},
		"backup":   {"write a consistent copy of the gallery: backup FILE", runBackup},
		"restore":  {"replace the gallery from a backup: restore FILE", runRestore},
		"watch":    {"run the pipeline on one source and print events", runWatch},
		"bench":    {"measure the pipeline on a source", runBench},
		"model":    {"inspect, run and benchmark TFLite models", runModel},
		"version":  {"print the version", runVersion},
	}
}

// gcPercent is the GC's headroom unless $GOGC says otherwise. Most of
// facegate's heap is long-lived and pointer-free (model weights, tensor
// buffers: ~20 MB for one camera), which the default of 100 would double
// before collecting; at 25 the garbage of a frame path (MJPEG decoding,
// WebRTC packets) is collected four times as often, at the same CPU (the
// weights are never scanned), for 20–30 MB less resident memory.
const gcPercent = 25

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, stdio{os.Stdin, os.Stdout, os.Stderr}, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, s stdio, args []string) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(s.err, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(s.err, "facegate: unknown command %q\n", args[0])
		usage(s.err, cmds)
		return 2
	}
	err := c.run(ctx, s, args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	case errors.Is(err, errReported):
		return 1
	default:
		fmt.Fprintf(s.err, "facegate %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer, cmds map[string]command) {
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "usage: facegate COMMAND [flags] [args]")
	fmt.Fprintln(w, "commands:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, cmds[n].summary)
	}
}

func runVersion(_ context.Context, s stdio, _ []string) error {
	fmt.Fprintf(s.out, "facegate %s\n", version)
	return nil
}
