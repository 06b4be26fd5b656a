package app

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"facegate/device/camera"
	"facegate/internal/config"
	"facegate/internal/rtc"
	"facegate/internal/web"
	"facegate/pipeline"
	"facegate/pipeline/frame"
)

// cameras owns the pipeline runners: one per device camera from the
// configuration and one per browser camera sent over WebRTC.
type cameras struct {
	d *daemon

	mu       sync.Mutex
	detector string
	entries  map[string]*camEntry
	stopped  bool
}

// camEntry is one running camera and its runner.
type camEntry struct {
	name    string
	kind    string        // "device" or "browser"
	cfg     config.Camera // device cameras
	runner  *pipeline.Runner
	models  *pipeline.Models
	results *pipeline.Hub[pipeline.Result]
	tap     *tap
	cancel  context.CancelFunc
	done    chan struct{}
	started time.Time
}

func newCameras(d *daemon) *cameras {
	return &cameras{d: d, detector: d.settings.current().DetectorModel, entries: map[string]*camEntry{}}
}

// startDevices starts a runner for every configured camera. A camera that
// cannot be opened yet is retried in the background, not an error.
func (cs *cameras) startDevices(_ context.Context, cams []config.Camera) error {
	for _, c := range cams {
		if err := cs.startDevice(c); err != nil {
			return fmt.Errorf("camera %s: %w", c.Name, err)
		}
	}
	return nil
}

func (cs *cameras) startDevice(c config.Camera) error {
	cs.mu.Lock()
	det := cs.detector
	cs.mu.Unlock()
	models, err := cs.d.models.runnerModels(det)
	if err != nil {
		return err
	}
	e := &camEntry{name: c.Name, kind: "device", cfg: c, models: models, tap: &tap{},
		results: pipeline.NewHub[pipeline.Result](cs.d.log)}
	open := func(ctx context.Context) (pipeline.Source, error) {
		cam, err := camera.Open(ctx, camera.Config{Name: c.Name, Source: c.Source, Width: c.Width, Height: c.Height,
			FPS: float64(c.FPS), Loop: c.Loop, Logger: cs.d.log})
		if err != nil {
			return nil, err
		}
		e.tap.cam.Store(cam)
		return e.tap.wrap(cam), nil
	}
	return cs.run(e, open, false)
}

// run builds e's runner and starts it on a goroutine the cameras own.
func (cs *cameras) run(e *camEntry, open pipeline.OpenFunc, exitOnEOF bool) error {
	r, err := pipeline.NewRunner(pipeline.Config{
		Camera: e.name, Open: open,
		Detector: e.models, Embedder: e.models, Quality: e.models.Quality,
		Matcher: pipeline.GalleryMatcher{M: cs.d.gallery.Matcher()},
		Events:  cs.d.events, Results: e.results, Presence: cs.d.presence,
		Log:    cs.d.log,
		Tuning: pipeline.Tuning{ExitOnEOF: exitOnEOF}, // the presence timeout comes from d.presence
	})
	if err != nil {
		cs.d.models.release(e.models)
		return err
	}
	e.runner = r
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel, e.done, e.started = cancel, make(chan struct{}), time.Now()
	cs.mu.Lock()
	if cs.stopped {
		cs.mu.Unlock()
		cancel()
		cs.d.models.release(e.models)
		return errors.New("shutting down")
	}
	if old := cs.entries[e.name]; old != nil {
		cs.mu.Unlock()
		cancel()
		cs.d.models.release(e.models)
		return fmt.Errorf("camera %q already runs", e.name)
	}
	cs.entries[e.name] = e
	cs.mu.Unlock()
	// The latest result of each camera feeds snapshots and "faces on camera".
	sub := e.results.Subscribe("latest", 4)
	go func() {
		defer close(e.done)
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for res := range sub.C {
				e.tap.setResult(res)
			}
		}()
		if err := r.Run(ctx); err != nil {
			cs.d.log.Warn("pipeline stopped", "camera", e.name, "err", err)
		}
		e.results.Close() // ends sub.C
		wg.Wait()
		cs.d.models.release(e.models)
	}()
	if cs.d.web != nil {
		cs.d.web.CamerasChanged(context.Background())
	}
	return nil
}

// remove stops one camera's runner and waits for it.
func (cs *cameras) remove(name string) {
	cs.mu.Lock()
	e := cs.entries[name]
	delete(cs.entries, name)
	cs.mu.Unlock()
	if e == nil {
		return
	}
	e.cancel()
	<-e.done
	if cs.d.web != nil {
		cs.d.web.CamerasChanged(context.Background())
	}
}

// stop ends every runner (releasing the cameras) and waits.
func (cs *cameras) stop() {
	cs.mu.Lock()
	cs.stopped = true
	es := make([]*camEntry, 0, len(cs.entries))
	for _, e := range cs.entries {
		es = append(es, e)
	}
	cs.entries = map[string]*camEntry{}
	cs.mu.Unlock()
	for _, e := range es {
		e.cancel()
	}
	for _, e := range es {
		<-e.done
	}
}

// setDetector restarts the device cameras' runners with another detector.
func (cs *cameras) setDetector(_ context.Context, model string) {
	cs.mu.Lock()
	cs.detector = model
	var devs []config.Camera
	for _, e := range cs.entries {
		if e.kind == "device" {
			devs = append(devs, e.cfg)
		}
	}
	cs.mu.Unlock()
	for _, c := range devs {
		cs.remove(c.Name)
		if err := cs.startDevice(c); err != nil {
			cs.d.log.Error("restarting camera with the new detector", "camera", c.Name, "err", err)
		}
	}
}

// reconcile restarts the device cameras that changed between two
// configurations, stops removed ones and starts new ones.
func (cs *cameras) reconcile(cur []config.Camera) {
	was := map[string]config.Camera{}
	for _, e := range cs.list() {
		if e.kind == "device" {
			was[e.name] = e.cfg
		}
	}
	now := map[string]bool{}
	for _, c := range cur {
		now[c.Name] = true
		if prev, ok := was[c.Name]; ok && prev == c {
			continue
		}
		if _, ok := was[c.Name]; ok {
			cs.remove(c.Name)
		}
		if err := cs.startDevice(c); err != nil {
			cs.d.log.Error("starting camera", "camera", c.Name, "err", err)
		}
	}
	for name := range was {
		if !now[name] {
			cs.remove(name)
		}
	}
}

func (cs *cameras) get(name string) *camEntry {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return cs.entries[name]
}

// runner returns the runner of a camera, or nil.
func (cs *cameras) runner(name string) *pipeline.Runner {
	if e := cs.get(name); e != nil {
		return e.runner
	}
	return nil
}

func (cs *cameras) list() []*camEntry {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	es := make([]*camEntry, 0, len(cs.entries))
	for _, e := range cs.entries {
		es = append(es, e)
	}
	sort.Slice(es, func(i, j int) bool { return es[i].name < es[j].name })
	return es
}

func (cs *cameras) stats() []pipeline.Stats {
	es := cs.list()
	out := make([]pipeline.Stats, len(es))
	for i, e := range es {
		out[i] = e.runner.Stats()
	}
	return out
}

func (cs *cameras) summary() string {
	es := cs.list()
	if len(es) == 0 {
		return "none"
	}
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.name + " " + e.state()
	}
	return strings.Join(parts, ", ")
}

// state is the camera's state as the page shows it.
func (e *camEntry) state() string {
	if e.kind == "browser" {
		return "running"
	}
	cam := e.tap.cam.Load()
	if cam == nil {
		return "starting"
	}
	switch cam.Stats().State {
	case camera.Opening:
		return "starting"
	case camera.Streaming:
		return "running"
	case camera.Retrying:
		return "error"
	}
	return "stopped"
}

// runBrowser runs the pipeline on a browser camera until ctx ends (the
// peer closed) and calls emit with each frame's result.
func (cs *cameras) runBrowser(ctx context.Context, src pipeline.Source, emit func(rtc.Result)) {
	cs.mu.Lock()
	det := cs.detector
	cs.mu.Unlock()
	models, err := cs.d.models.runnerModels(det)
	if err != nil {
		cs.d.log.Error("browser camera", "err", err)
		return
	}
	e := &camEntry{name: src.Name(), kind: "browser", models: models, tap: &tap{},
		results: pipeline.NewHub[pipeline.Result](cs.d.log)}
	var opened atomic.Bool
	open := func(context.Context) (pipeline.Source, error) {
		if opened.Swap(true) {
			return nil, errors.New("the browser camera has gone")
		}
		return e.tap.wrap(src), nil
	}
	sub := e.results.Subscribe("rtc", 2)
	if err := cs.run(e, open, true); err != nil {
		cs.d.log.Error("browser camera", "err", err)
		return
	}
	defer cs.remove(e.name)
	var out rtc.Result
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.done:
			return
		case res, ok := <-sub.C:
			if !ok {
				return
			}
			toRTC(&out, &res)
			emit(out)
		}
	}
}

// toRTC converts a pipeline result for the DataChannel, reusing dst.
func toRTC(dst *rtc.Result, r *pipeline.Result) {
	dst.Frame, dst.W, dst.H = r.Seq, r.W, r.H
	dst.Faces = dst.Faces[:0]
	for _, f := range r.List() {
		rf := rtc.Face{Box: [4]float32{f.Box.X, f.Box.Y, f.Box.W, f.Box.H}, Track: f.Track,
			PersonID: f.PersonID, Similarity: f.Similarity, Known: f.Known}
		rf.Keypoints = make([][2]float32, len(f.Keypoints))
		for k, p := range f.Keypoints {
			rf.Keypoints[k] = [2]float32{p.X, p.Y}
		}
		if f.PersonID != "" {
			name := f.Name
			rf.Name = &name
		}
		dst.Faces = append(dst.Faces, rf)
	}
}

// webLive is the running cameras as the page sees them.
type webLive struct{ d *daemon }

func (l webLive) Cameras(context.Context) ([]web.CameraStatus, error) {
	es := l.d.cams.list()
	out := make([]web.CameraStatus, 0, len(es))
	for _, e := range es {
		st := web.CameraStatus{Name: e.name, Kind: e.kind, State: e.state()}
		if cam := e.tap.cam.Load(); cam != nil && st.State == "error" {
			st.Error = cam.Stats().LastError
		}
		if w, h := e.tap.size(); w > 0 {
			st.Width, st.Height = w, h
		}
		rs := e.runner.Stats()
		if el := time.Since(e.started).Seconds(); el > 0 {
			st.FPS = float64(rs.Frames) / el
		}
		out = append(out, st)
	}
	return out, nil
}

func (l webLive) Snapshot(_ context.Context, name string) ([]byte, error) {
	e := l.d.cams.get(name)
	if e == nil {
		return nil, fmt.Errorf("%w: no camera %q", errNotFound, name)
	}
	img, labels, err := e.tap.picture()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", web.ErrUnavailable, err)
	}
	return l.d.painter.render(img, labels)
}

func (l webLive) Faces(_ context.Context, name string) ([]web.LiveFace, error) {
	e := l.d.cams.get(name)
	if e == nil {
		return nil, fmt.Errorf("%w: no camera %q", errNotFound, name)
	}
	res, ok := e.tap.result()
	if !ok {
		return []web.LiveFace{}, nil
	}
	out := make([]web.LiveFace, 0, res.N)
	for _, f := range res.List() {
		out = append(out, web.LiveFace{Track: f.Track, Box: [4]float32{f.Box.X, f.Box.Y, f.Box.W, f.Box.H},
			PersonID: f.PersonID, Name: f.Name, Similarity: f.Similarity})
	}
	return out, nil
}

// rtcHost connects the WebRTC sessions to the cameras.
type rtcHost struct{ d *daemon }

func (h rtcHost) RunBrowserCamera(ctx context.Context, src pipeline.Source, emit func(rtc.Result)) {
	h.d.cams.runBrowser(ctx, src, emit)
}

func (h rtcHost) Live(name string) (rtc.LiveFeed, bool) {
	e := h.d.cams.get(name)
	if e == nil || e.kind != "device" {
		return nil, false
	}
	return liveFeed{e}, true
}

// liveFeed is a device camera for the live view.
type liveFeed struct{ e *camEntry }

func (f liveFeed) CopyLatest(dst *frame.Frame, after uint64) bool {
	return f.e.tap.copyLatest(dst, after)
}

func (f liveFeed) FPS() int {
	if f.e.cfg.FPS > 0 {
		return f.e.cfg.FPS
	}
	return 15
}

func (f liveFeed) Results(ctx context.Context) <-chan rtc.Result {
	sub := f.e.results.Subscribe("live", 2)
	out := make(chan rtc.Result)
	go func() { // owned by the viewer: ends with ctx or the camera
		defer close(out)
		defer sub.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case res, ok := <-sub.C:
				if !ok {
					return
				}
				var r rtc.Result // fresh: the viewer marshals it after we move on
				toRTC(&r, &res)
				select {
				case out <- r:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return out
}
