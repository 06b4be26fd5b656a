package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"facegate/device/camera"
	"facegate/internal/store"
	"facegate/pipeline"
	"facegate/pipeline/gallery"
)

// watchGallery opens the gallery of stateDir read-only for matching. A
// state directory without a store gives an empty gallery (everyone is
// unknown), so a camera can be tried before anyone is enrolled.
func watchGallery(stateDir, model string) (*gallery.Matcher, int, func(), error) {
	path := filepath.Join(stateDir, store.FileName)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return gallery.NewMatcher(gallery.Build(gallery.Data{}, model, gallery.DefaultPolicy())), 0, func() {}, nil
	}
	st, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		return nil, 0, nil, err
	}
	opt := gallery.Options{Model: model}
	if pol, ok := storedPolicy(st); ok {
		opt.Policy = pol
	}
	svc, err := gallery.New(st, nil, nil, opt)
	if err != nil {
		st.Close()
		return nil, 0, nil, err
	}
	return svc.Matcher(), len(svc.People()), func() { st.Close() }, nil
}

// openCamera opens a camera as a pipeline source.
func openCamera(ctx context.Context, cfg camera.Config) (pipeline.Source, error) {
	c, err := camera.Open(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// firstThenOpen opens the camera once now, so a bad source string fails
// the command at once, and returns an OpenFunc that hands out that camera
// first and opens new ones after it.
func firstThenOpen(ctx context.Context, cfg camera.Config) (pipeline.OpenFunc, error) {
	if err := checkFileSource(cfg.Source); err != nil {
		return nil, err
	}
	first, err := openCamera(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	return func(ctx context.Context) (pipeline.Source, error) {
		mu.Lock()
		f := first
		first = nil
		mu.Unlock()
		if f != nil {
			return f, nil
		}
		return openCamera(ctx, cfg)
	}, nil
}

// checkFileSource refuses a source that names a file that does not exist:
// cameras and streams are retried until they appear, a typo in a file
// name would only make watch wait forever.
func checkFileSource(src string) error {
	if strings.Contains(src, "://") || strings.HasPrefix(src, "gst:") || strings.HasPrefix(src, "/dev/") {
		return nil
	}
	if _, err := strconv.Atoi(src); err == nil {
		return nil
	}
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("source %s: %w", src, err)
	}
	return nil
}

// watchFlags are the flags watch and bench share.
type watchFlags struct {
	stateDir string
	model    string
}

func (w *watchFlags) register(fl *flag.FlagSet) {
	fl.StringVar(&w.stateDir, "state-dir", defaultStateDir(), "state directory holding the gallery ("+store.FileName+")")
	fl.StringVar(&w.model, "model", "short", "detector model: short or full")
}

// watchSetup loads the models and the gallery. The caller calls done.
func (w *watchFlags) setup() (*pipeline.Models, *gallery.Matcher, int, func(), error) {
	if w.model != "short" && w.model != "full" {
		return nil, nil, 0, nil, fmt.Errorf("--model %q: want short or full", w.model)
	}
	m, err := pipeline.NewModels(pipeline.ModelOptions{Detector: w.model, Threads: 1})
	if err != nil {
		return nil, nil, 0, nil, err
	}
	gm, people, closeStore, err := watchGallery(w.stateDir, m.Model())
	if err != nil {
		m.Close()
		return nil, nil, 0, nil, err
	}
	return m, gm, people, func() { closeStore(); m.Close() }, nil
}

func runWatch(ctx context.Context, s stdio, args []string) error {
	fl := flag.NewFlagSet("watch", flag.ContinueOnError)
	fl.SetOutput(s.err)
	var w watchFlags
	w.register(fl)
	frames := fl.Bool("frames", false, "also print every frame's faces")
	loop := fl.Bool("loop", false, "play a video file again and again")
	fl.Usage = func() {
		fmt.Fprintln(s.err, "usage: facegate watch [--state-dir DIR] [--model short|full] [--frames] [--loop] SOURCE")
		fmt.Fprintln(s.err, "SOURCE: /dev/videoN, N, gst:<pipeline>, rtsp://…, http(s)://…, or a video/image file.")
		fmt.Fprintln(s.err, `Prints events as JSON lines {"type","time","camera","track","person_id","name","similarity","box"}`)
		fmt.Fprintln(s.err, "until the source ends (files) or Ctrl-C.")
		fl.PrintDefaults()
	}
	if err := fl.Parse(args); err != nil {
		return errUsage
	}
	if fl.NArg() != 1 {
		fl.Usage()
		return errUsage
	}
	source := fl.Arg(0)
	m, gm, people, done, err := w.setup()
	if err != nil {
		return err
	}
	defer done()
	log := slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if people == 0 {
		fmt.Fprintf(s.err, "facegate watch: nobody enrolled in %s: every face is unknown\n", w.stateDir)
	}
	events := pipeline.NewHub[pipeline.Event](log)
	results := pipeline.NewHub[pipeline.Result](log)
	evSub := events.Subscribe("watch", 64)
	var resSub *pipeline.Sub[pipeline.Result]
	if *frames {
		resSub = results.Subscribe("watch", 8)
	}
	var open pipeline.OpenFunc // set once the runner is built, so nothing leaks if that fails
	r, err := pipeline.NewRunner(pipeline.Config{
		Open:     func(ctx context.Context) (pipeline.Source, error) { return open(ctx) },
		Detector: m, Embedder: m, Quality: m.Quality, Matcher: pipeline.GalleryMatcher{M: gm},
		Events: events, Results: results, Log: log,
		Tuning: pipeline.Tuning{ExitOnEOF: true},
	})
	if err != nil {
		return err
	}
	if open, err = firstThenOpen(ctx, camera.Config{Source: source, Loop: *loop, Logger: log}); err != nil {
		return err
	}
	// The printer is the only writer of s.out; it ends when the hubs close.
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() { werr = printJSONLines(s.out, evSub, resSub) })
	r.Run(ctx) //nolint:errcheck // Run returns nil when stopped or at the end of the stream
	events.Close()
	results.Close()
	wg.Wait()
	return werr
}

// printJSONLines writes events (and results, when subscribed) as JSON
// lines until both subscriptions close.
func printJSONLines(out io.Writer, ev *pipeline.Sub[pipeline.Event], res *pipeline.Sub[pipeline.Result]) error {
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	evC := ev.C
	var resC <-chan pipeline.Result
	if res != nil {
		resC = res.C
	}
	var err error
	keep := func(e error) {
		if err == nil && e != nil {
			err = e
		}
	}
	for evC != nil || resC != nil {
		select {
		case e, ok := <-evC:
			if !ok {
				evC = nil
				continue
			}
			keep(enc.Encode(e))
		case r, ok := <-resC:
			if !ok {
				resC = nil
				continue
			}
			keep(enc.Encode(r))
		}
	}
	return err
}

func runBench(ctx context.Context, s stdio, args []string) error {
	fl := flag.NewFlagSet("bench", flag.ContinueOnError)
	fl.SetOutput(s.err)
	var w watchFlags
	w.register(fl)
	source := fl.String("source", "", "video file or camera to measure (required)")
	seconds := fl.Float64("seconds", 10, "how long to measure")
	asJSON := fl.Bool("json", false, "print the figures as one JSON object")
	fps := fl.Float64("fps", 0, "pace a file at this rate like a camera (CPU use and latency at that rate); 0: as fast as possible")
	if err := fl.Parse(args); err != nil {
		return errUsage
	}
	if *source == "" || fl.NArg() != 0 || *seconds <= 0 || *fps < 0 {
		fmt.Fprintln(s.err, "usage: facegate bench --source FILE|CAMERA [--seconds N] [--fps N] [--model short|full] [--state-dir DIR] [--json]")
		return errUsage
	}
	m, gm, _, done, err := w.setup()
	if err != nil {
		return err
	}
	defer done()
	log := slog.New(slog.NewTextHandler(s.err, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var open pipeline.OpenFunc
	r, err := pipeline.NewRunner(pipeline.Config{
		Open:     func(ctx context.Context) (pipeline.Source, error) { return open(ctx) },
		Detector: m, Embedder: m, Quality: m.Quality, Matcher: pipeline.GalleryMatcher{M: gm},
		Events: pipeline.NewHub[pipeline.Event](log), Log: log,
		// Files loop; refresh identities at the usual rate.
	})
	if err != nil {
		return err
	}
	if open, err = firstThenOpen(ctx, camera.Config{Source: *source, Loop: true, Unpaced: *fps == 0, FPS: *fps, Logger: log}); err != nil {
		return err
	}
	var wg sync.WaitGroup
	wg.Go(func() { r.Run(ctx) }) //nolint:errcheck // nil when stopped

	// Warm up (first frames, track creation, lazy buffers), then measure.
	warm := time.NewTimer(time.Second)
	select {
	case <-ctx.Done():
	case <-warm.C:
	}
	b0, cpu0, ms0 := r.Stats(), cpuTime(), memStats()
	t0 := time.Now()
	measure := time.NewTimer(time.Duration(*seconds * float64(time.Second)))
	select {
	case <-ctx.Done():
	case <-measure.C:
	}
	b1, cpu1, ms1 := r.Stats(), cpuTime(), memStats()
	elapsed := time.Since(t0)
	cancel()
	wg.Wait()

	frames := b1.Frames - b0.Frames
	rep := benchReport{
		Source: *source, Model: w.model, Seconds: elapsed.Seconds(), Frames: frames,
		FPS:   float64(frames) / elapsed.Seconds(),
		Cores: (cpu1 - cpu0).Seconds() / elapsed.Seconds(),
		Faces: b1.Faces - b0.Faces, Embeds: b1.Embeds - b0.Embeds,
		Dropped: b1.Dropped - b0.Dropped,
		RSSMB:   float64(maxRSS()) / 1024,
		Stages:  map[string]benchStage{},
	}
	if frames > 0 {
		rep.AllocsPerFrame = float64(ms1.Mallocs-ms0.Mallocs) / float64(frames)
		rep.BytesPerFrame = float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(frames)
	}
	for i := range pipeline.NumStages {
		st := b1.Stages[i] // cumulative since start: percentiles include warm-up
		rep.Stages[i.String()] = benchStage{Count: st.Count, P50: ms(st.P50), P90: ms(st.P90), P99: ms(st.P99), Max: ms(st.Max)}
	}
	if st := b1.Age; st.Count > 0 {
		rep.Stages["age"] = benchStage{Count: st.Count, P50: ms(st.P50), P90: ms(st.P90), P99: ms(st.P99), Max: ms(st.Max)}
	}
	if st := b1.Recognize; st.Count > 0 {
		rep.Stages["recognize"] = benchStage{Count: st.Count, P50: ms(st.P50), P90: ms(st.P90), P99: ms(st.P99), Max: ms(st.Max)}
	}
	if *asJSON {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	fmt.Fprintf(s.out, "source %s, model %s, %.1f s, GOMAXPROCS %d\n", rep.Source, rep.Model, rep.Seconds, runtime.GOMAXPROCS(0))
	fmt.Fprintf(s.out, "frames %d  fps %.1f  cpu %.2f cores  faces/frame %.2f  embeddings %d  dropped %d\n",
		rep.Frames, rep.FPS, rep.Cores, float64(rep.Faces)/max(float64(rep.Frames), 1), rep.Embeds, rep.Dropped)
	fmt.Fprintf(s.out, "allocs/frame %.2f  bytes/frame %.0f  (whole process)  max RSS %.0f MB\n", rep.AllocsPerFrame, rep.BytesPerFrame, rep.RSSMB)
	fmt.Fprintf(s.out, "%-7s %8s %9s %9s %9s %9s\n", "stage", "count", "p50 ms", "p90 ms", "p99 ms", "max ms")
	for i := range pipeline.NumStages {
		st := rep.Stages[i.String()]
		fmt.Fprintf(s.out, "%-7s %8d %9.2f %9.2f %9.2f %9.2f\n", i, st.Count, st.P50, st.P90, st.P99, st.Max)
	}
	if st, ok := rep.Stages["age"]; ok {
		fmt.Fprintf(s.out, "frame age when taken (capture → pipeline): p50 %.2f ms, p99 %.2f ms\n", st.P50, st.P99)
	}
	if st, ok := rep.Stages["recognize"]; ok {
		fmt.Fprintf(s.out, "first frame of a track → recognized event: %.1f ms (%d events; needs an enrolled face)\n", st.Max, st.Count)
	}
	return nil
}

type benchStage struct {
	Count              uint64
	P50, P90, P99, Max float64 // milliseconds
}

type benchReport struct {
	Source         string
	Model          string
	Seconds        float64
	Frames         uint64
	FPS            float64
	Cores          float64 // CPU time over wall time
	Faces, Embeds  uint64
	Dropped        uint64
	AllocsPerFrame float64
	BytesPerFrame  float64
	RSSMB          float64
	Stages         map[string]benchStage
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func memStats() runtime.MemStats {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// maxRSS is the peak resident set in KiB.
func maxRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return int64(ru.Maxrss)
}
