package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"facegate/pipeline/frame"
)

// Tuning holds the runner's behaviour; zero fields take the defaults in
// brackets. Durations are measured on the frames' capture clock.
type Tuning struct {
	MinIoU          float32       // detection–track overlap to continue a track [0.3]
	LeaveAfter      time.Duration // a track unseen this long is gone [1.5s]
	Refresh         time.Duration // re-embed a named track this often [1s]
	Votes           int           // embeddings a track votes with, ≤ 8 [5]
	MinVotes        int           // agreeing votes that name a track [2]
	UnknownFrames   int           // frames an unknown face must stay for an event [5]
	PresenceTimeout time.Duration // one recognized per person and camera until away this long [5m]
	MaxTracks       int           // tracks followed at once [16]
	MaxEmbeds       int           // embeddings per frame at most [2]
	// SameStranger is the cosine similarity above which a new unknown face
	// is taken for a stranger already reported on this camera within the
	// presence timeout, and not reported again [0.5].
	SameStranger float32
	BackoffMin   time.Duration // first reopen delay [100ms]
	BackoffMax   time.Duration // reopen delay cap [10s]
	// ExitOnEOF ends Run when the source reports io.EOF (files in `watch`);
	// otherwise the source is reopened like after any failure.
	ExitOnEOF bool
}

func (t Tuning) withDefaults() Tuning {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	defi := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if t.MinIoU <= 0 || t.MinIoU > 1 {
		t.MinIoU = 0.3
	}
	def(&t.LeaveAfter, 1500*time.Millisecond)
	def(&t.Refresh, time.Second)
	def(&t.PresenceTimeout, 5*time.Minute)
	def(&t.BackoffMin, 100*time.Millisecond)
	def(&t.BackoffMax, 10*time.Second)
	defi(&t.Votes, 5)
	t.Votes = min(t.Votes, maxVotes)
	defi(&t.MinVotes, 2)
	t.MinVotes = min(t.MinVotes, t.Votes)
	defi(&t.UnknownFrames, 5)
	defi(&t.MaxTracks, 16)
	defi(&t.MaxEmbeds, 2)
	if t.SameStranger <= 0 || t.SameStranger > 1 {
		t.SameStranger = 0.5
	}
	t.BackoffMax = max(t.BackoffMax, t.BackoffMin)
	return t
}

// Config is what a Runner needs. Detector and Embedder belong to the runner
// alone (interpreters are not goroutine-safe); the rest may be shared.
type Config struct {
	Camera   string   // name in events; the source's Name() when empty
	Open     OpenFunc // required
	Detector Detector // required
	Embedder Embedder // required
	Matcher  Matcher  // required
	Quality  QualityFunc
	Events   *Hub[Event]  // nil: events are not published
	Results  *Hub[Result] // nil: per-frame results are not published
	Presence *Presence    // nil: no presence events
	Log      *slog.Logger
	Tuning   Tuning
}

// ErrNoTrack is returned for a track that is not live.
var ErrNoTrack = errors.New("no such track")

// ErrNoSamples is returned for a live track without a usable face yet.
var ErrNoSamples = errors.New("track has no face good enough to enroll")

// Runner runs the frame loop of one source.
type Runner struct {
	cfg   Config
	tune  Tuning
	log   *slog.Logger
	sleep func(ctx context.Context, d time.Duration) error // tests replace it

	mu         sync.Mutex // guards the tracker and identity state; held per frame
	tr         *tracker
	personSeen map[string]time.Time // per person: last frame time named on this camera
	strangers  [8]stranger          // recently reported unknown faces (a ring)
	nextSlot   int
	gen        uint64 // snapshot generation the votes were cast against
	lastExpire time.Time
	camera     string
	clock      time.Time // the pipeline's clock (see tick); owned by the Run goroutine
	wall       time.Time // wall time of the last frame

	// Per-frame scratch, reused.
	dets    []frame.Face
	order   []*track
	aligned [AlignedSize * AlignedSize * 3]byte
	vec     [frame.EmbeddingDim]float32
	res     Result

	hist                 [NumStages]histogram
	recognize            histogram // first sighting of a track → its recognized event
	age                  histogram // capture of a frame → the pipeline took it
	started              atomic.Int64
	frames, faces        atomic.Uint64
	embeds               atomic.Uint64
	opens, failures      atomic.Uint64
	dropsBase, dropsLive atomic.Uint64
	ntracks              atomic.Int64
	lastWarn             atomic.Int64
}

// NewRunner checks cfg and returns a runner; Run starts it.
func NewRunner(cfg Config) (*Runner, error) {
	switch {
	case cfg.Open == nil:
		return nil, errors.New("pipeline: runner needs a source (Open)")
	case cfg.Detector == nil:
		return nil, errors.New("pipeline: runner needs a detector")
	case cfg.Embedder == nil:
		return nil, errors.New("pipeline: runner needs an embedder")
	case cfg.Matcher == nil:
		return nil, errors.New("pipeline: runner needs a matcher")
	}
	if cfg.Quality == nil {
		cfg.Quality = defaultQuality
	}
	log := cfg.Log
	if log == nil {
		log = slog.Default()
	}
	tune := cfg.Tuning.withDefaults()
	if cfg.Camera != "" {
		log = log.With("camera", cfg.Camera)
	}
	r := &Runner{
		cfg: cfg, tune: tune, camera: cfg.Camera,
		log:        log.With("component", "pipeline"),
		sleep:      sleepCtx,
		tr:         newTracker(tune.MaxTracks, tune.MinIoU),
		personSeen: make(map[string]time.Time),
		dets:       make([]frame.Face, 0, 32),
		order:      make([]*track, 0, tune.MaxTracks),
	}
	return r, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Camera returns the camera name (known once the source was opened when
// Config.Camera is empty).
func (r *Runner) Camera() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.camera
}

// Run opens the source and processes its frames until ctx ends (or, with
// ExitOnEOF, until the stream ends). A source that fails to open, fails or
// ends is closed and reopened with capped exponential backoff; each change
// of state is logged once. The source is always closed on return. Run
// returns nil when stopped by ctx or at the end of the stream.
func (r *Runner) Run(ctx context.Context) error {
	r.started.CompareAndSwap(0, time.Now().UnixNano())
	backoff := r.tune.BackoffMin
	state := ""
	setState := func(s string, attrs ...any) {
		if s == state {
			return
		}
		state = s
		if s == "streaming" {
			r.log.Info("camera streaming", attrs...)
		} else {
			r.log.Warn("camera "+s+"; retrying", attrs...)
		}
	}
	for ctx.Err() == nil {
		src, err := r.cfg.Open(ctx)
		if err == nil && src == nil {
			err = errors.New("open returned no source")
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			r.failures.Add(1)
			setState("open failed", "err", err, "backoff", backoff)
			if r.sleep(ctx, backoff) != nil {
				break
			}
			backoff = min(2*backoff, r.tune.BackoffMax)
			continue
		}
		r.opens.Add(1)
		r.mu.Lock()
		if r.camera == "" {
			r.camera = src.Name()
			r.log = r.log.With("camera", r.camera)
		}
		r.mu.Unlock()
		n, err := r.stream(ctx, src, func() { setState("streaming") })
		r.dropsBase.Add(r.dropsLive.Swap(0))
		if cerr := src.Close(); cerr != nil {
			r.log.Debug("closing source", "err", cerr)
		}
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, io.EOF) && r.tune.ExitOnEOF {
			r.flush(r.clock)
			return nil
		}
		r.failures.Add(1)
		if n > 0 {
			backoff = r.tune.BackoffMin
		}
		setState("stream failed", "err", err, "frames", n, "backoff", backoff)
		if r.sleep(ctx, backoff) != nil {
			break
		}
		if n == 0 {
			backoff = min(2*backoff, r.tune.BackoffMax)
		}
	}
	return nil
}

type decodeTimer interface{ DecodeTime() time.Duration }
type dropCounter interface{ Drops() uint64 }

// stream processes frames of src until Next fails; it returns how many
// frames it processed.
func (r *Runner) stream(ctx context.Context, src Source, first func()) (int, error) {
	dt, _ := src.(decodeTimer)
	dc, _ := src.(dropCounter)
	n := 0
	var prev time.Time
	for {
		t0 := time.Now()
		f, err := src.Next(ctx)
		if err != nil {
			return n, err
		}
		if f == nil {
			return n, fmt.Errorf("source %s returned no frame", src.Name())
		}
		t1 := time.Now()
		if n == 0 {
			first()
		}
		decode := t1.Sub(t0)
		if dt != nil {
			decode = dt.DecodeTime()
		}
		r.hist[StageDecode].record(decode)
		if age := t1.Sub(f.Time); !f.Time.IsZero() && age >= 0 && age < time.Minute {
			r.age.record(age) // sources with their own time base are left out
		}
		now := r.tick(f.Time, prev, t1)
		prev = f.Time
		r.process(f, now)
		r.hist[StageFrame].record(time.Since(t1))
		r.frames.Add(1)
		if dc != nil {
			r.dropsLive.Store(dc.Drops())
		}
		n++
	}
}

// tick advances the pipeline's clock for a frame captured at ft (prev is
// the previous frame of the same stream; zero times mean "unknown", and
// wall is now). The clock follows the capture times but never goes back:
// a stream that restarts its clock advances it by its own frame intervals,
// so tracks still age and leave.
func (r *Runner) tick(ft, prev, wall time.Time) time.Time {
	switch {
	case ft.IsZero():
		ft = wall
		if ft.After(r.clock) {
			r.clock = ft
		}
	case prev.IsZero() || r.clock.IsZero():
		// First frame of a stream: continue from the stream's time when it
		// is ahead, else by the wall time since the last frame.
		if ft.After(r.clock) {
			r.clock = ft
		} else {
			r.clock = r.clock.Add(max(wall.Sub(r.wall), 0))
		}
	default:
		r.clock = r.clock.Add(max(ft.Sub(prev), 0))
	}
	r.wall = wall
	return r.clock
}

// process runs one frame through detect, track, embed, match and events.
func (r *Runner) process(f *frame.Frame, now time.Time) {
	t0 := time.Now()
	dets, err := r.cfg.Detector.Detect(f, r.dets[:0])
	if err != nil {
		r.warnRarely("detection failed", err)
		dets = dets[:0]
	}
	r.dets = dets[:0]
	r.faces.Add(uint64(len(dets)))
	t1 := time.Now()
	r.hist[StageDetect].record(t1.Sub(t0))

	r.mu.Lock()
	r.tr.update(dets, now)
	r.checkGeneration()
	t2 := time.Now()
	r.embedDue(f, now)
	t3 := time.Now()
	r.events(f, now)
	r.tr.expire(now, r.tune.LeaveAfter, func(t *track) {
		if t.evented {
			r.emit(r.event(EventLeft, t, now), nil)
		}
	})
	if now.Sub(r.lastExpire) >= time.Second {
		r.lastExpire = now
		r.expirePeople(now)
	}
	r.fillResult(f, now)
	r.ntracks.Store(int64(len(r.tr.live)))
	r.mu.Unlock()
	if r.cfg.Results != nil {
		r.cfg.Results.Publish(r.res)
	}
	r.hist[StageTrack].record(t2.Sub(t1) + time.Since(t3))
}

// checkGeneration re-votes every track as soon as the gallery changes, so
// a deleted person stops being named at once, not after a refresh.
func (r *Runner) checkGeneration() {
	g, ok := r.cfg.Matcher.(Generationer)
	if !ok {
		return
	}
	gen := g.Generation()
	if gen == r.gen {
		return
	}
	r.gen = gen
	for _, t := range r.tr.live {
		r.revote(t)
	}
}

func embedOrder(a, b *track) int {
	if (a.nvec == 0) != (b.nvec == 0) {
		if a.nvec == 0 {
			return -1
		}
		return 1
	}
	return a.lastEmbed.Compare(b.lastEmbed)
}

// embedDue embeds the faces that need it: new tracks first, then
// undecided ones, then those due for a refresh, oldest first, at most
// MaxEmbeds per frame.
func (r *Runner) embedDue(f *frame.Frame, now time.Time) {
	r.order = r.order[:0]
	for _, t := range r.tr.live {
		if t.det >= 0 && (t.nvec == 0 || !t.decided || now.Sub(t.lastEmbed) >= r.tune.Refresh) {
			r.order = append(r.order, t)
		}
	}
	slices.SortFunc(r.order, embedOrder)
	for i, t := range r.order {
		if i >= r.tune.MaxEmbeds {
			break
		}
		r.embed(f, t, now)
	}
	clear(r.order)
}

func (r *Runner) embed(f *frame.Frame, t *track, now time.Time) {
	te := time.Now()
	err := r.cfg.Embedder.Embed(f, t.face, r.aligned[:], r.vec[:])
	r.hist[StageEmbed].record(time.Since(te))
	t.lastEmbed = now
	if err != nil {
		r.warnRarely("embedding failed", err)
		return
	}
	r.embeds.Add(1)
	copy(t.vecs[t.vpos][:], r.vec[:])
	t.vpos = (t.vpos + 1) % r.tune.Votes
	t.nvec = min(t.nvec+1, r.tune.Votes)
	if q, err := r.cfg.Quality(f, t.face, r.aligned[:]); err == nil {
		keepSample(t, q, now, r.vec[:], r.aligned[:])
	}
	if s := t.face.Score * t.face.Box.Area(); s > t.thumbScore {
		t.thumbScore = s
		t.thumbW, t.thumbH, t.thumb = cropThumb(f, t.face.Box, t.thumb)
	}
	r.revote(t)
}

// keepSample keeps the face if it is among the track's best few.
func keepSample(t *track, q float32, now time.Time, vec []float32, aligned []byte) {
	i := t.nsamples
	if i == maxSamples {
		i = 0
		for j := 1; j < maxSamples; j++ {
			if t.samples[j].q < t.samples[i].q {
				i = j
			}
		}
		if q <= t.samples[i].q {
			return
		}
	} else {
		t.nsamples++
	}
	s := &t.samples[i]
	s.q, s.t = q, now
	copy(s.vec[:], vec)
	copy(s.aligned[:], aligned)
}

// revote matches the track's recent embeddings against the current
// snapshot and updates its identity when a new one wins; an undecided
// vote keeps the old identity, so names do not flicker.
func (r *Runner) revote(t *track) {
	if t.nvec == 0 {
		return
	}
	tm := time.Now()
	model := r.cfg.Embedder.Model()
	for i := range t.nvec {
		m := r.cfg.Matcher.Match(frame.Embedding{Vector: t.vecs[i][:], Model: model})
		t.votes[i] = vote{personID: m.PersonID, name: m.Name, sim: m.Similarity, known: m.Known && m.PersonID != ""}
	}
	r.hist[StageMatch].record(time.Since(tm))
	if v, ok := decide(t.votes[:t.nvec], r.tune.MinVotes, r.tune.Votes); ok {
		t.ident, t.decided = v, true
	} else if t.decided && t.ident.known && !r.stillNamed(t) {
		// The person the track was named for is no longer in any vote
		// (deleted, or re-matched elsewhere): stop naming them.
		t.ident, t.decided = vote{}, false
	}
}

func (r *Runner) stillNamed(t *track) bool {
	for _, v := range t.votes[:t.nvec] {
		if v.known && v.personID == t.ident.personID {
			return true
		}
	}
	return false
}

// events turns identity decisions of the tracks seen in this frame into
// recognized, unknown and presence events.
func (r *Runner) events(f *frame.Frame, now time.Time) {
	for _, t := range r.tr.live {
		if t.det < 0 || !t.decided {
			continue
		}
		if t.ident.known {
			t.everKnown = true
			id := t.ident.personID
			if t.announced != id {
				t.announced = id
				last, seen := r.personSeen[id]
				if !seen || now.Sub(last) >= r.presenceTimeout() {
					t.evented = true
					r.emit(r.event(EventRecognized, t, now), t)
					r.recognize.record(time.Since(t.first))
				}
			}
			r.personSeen[id] = now
			if p := r.cfg.Presence; p != nil && p.Seen(id, t.ident.name, r.camera, now) {
				e := r.event(EventPresence, t, now)
				e.State = StateHome
				r.emit(e, nil)
			}
			continue
		}
		if t.stranger > 0 && !t.everKnown {
			// Still here: the stranger's presence lasts as long as the track.
			r.strangers[t.stranger-1].last = now
		}
		if !t.everKnown && !t.unknown && t.hits >= r.tune.UnknownFrames {
			t.unknown = true
			if r.newStranger(t, now) {
				t.evented = true
				r.emit(r.event(EventUnknown, t, now), t)
			}
		}
	}
}

// stranger is an unknown face reported on this camera.
type stranger struct {
	vec  [frame.EmbeddingDim]float32
	last time.Time
}

// newStranger reports whether the unknown face of t differs from every
// stranger reported within the presence timeout, and remembers it; a face
// that matches one only refreshes its time, so a stranger who lingers, or
// whose track breaks, is reported once.
func (r *Runner) newStranger(t *track, now time.Time) bool {
	if t.nvec == 0 {
		return true
	}
	vec := t.vecs[(t.vpos+r.tune.Votes-1)%r.tune.Votes][:]
	for i := range r.strangers {
		s := &r.strangers[i]
		if !s.last.IsZero() && now.Sub(s.last) < r.presenceTimeout() && frame.Cosine(vec, s.vec[:]) >= r.tune.SameStranger {
			s.last, t.stranger = now, i+1
			return false
		}
	}
	i := r.nextSlot
	r.nextSlot = (r.nextSlot + 1) % len(r.strangers)
	s := &r.strangers[i]
	copy(s.vec[:], vec)
	s.last, t.stranger = now, i+1
	return true
}

// expirePeople forgets per-camera sightings older than the presence
// timeout and reports people who went away.
func (r *Runner) expirePeople(now time.Time) {
	for id, last := range r.personSeen {
		if now.Sub(last) >= r.presenceTimeout() {
			delete(r.personSeen, id)
		}
	}
	if p := r.cfg.Presence; p != nil {
		p.Expire(now, func(pp PersonPresence) {
			r.emit(Event{Type: EventPresence, ID: newEventID(now), Time: now, Camera: pp.Camera,
				PersonID: pp.PersonID, Name: pp.Name, State: StateAway}, nil)
		})
	}
}

// flush ends every track at the end of a stream.
func (r *Runner) flush(now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tr.expire(now, -1<<62, func(t *track) {
		if t.evented {
			r.emit(r.event(EventLeft, t, now), nil)
		}
	})
	r.ntracks.Store(0)
}

func (r *Runner) event(typ EventType, t *track, now time.Time) Event {
	e := Event{Type: typ, ID: newEventID(now), Time: now, Camera: r.camera, Track: t.id,
		Similarity: t.ident.sim, Box: t.face.Box}
	if t.decided && t.ident.known {
		e.PersonID, e.Name = t.ident.personID, t.ident.name
	}
	return e
}

// emit publishes e, with the track's thumbnail when thumb is given.
func (r *Runner) emit(e Event, thumb *track) {
	if thumb != nil && thumb.thumbW > 0 {
		if b, err := encodeThumb(thumb.thumb, thumb.thumbW, thumb.thumbH); err == nil {
			e.Thumb = b
		}
	}
	if r.cfg.Events != nil {
		r.cfg.Events.Publish(e)
	}
}

// fillResult writes this frame's faces into r.res.
func (r *Runner) fillResult(f *frame.Frame, now time.Time) {
	res := &r.res
	res.Camera, res.Seq, res.Time, res.W, res.H, res.N = r.camera, f.Seq, now, f.Width, f.Height, 0
	for _, t := range r.tr.live {
		if t.det < 0 || res.N == MaxResultFaces {
			continue
		}
		fr := &res.Faces[res.N]
		*fr = FaceResult{Box: t.face.Box, Keypoints: t.face.Keypoints, Track: t.id}
		if t.decided {
			fr.Similarity = t.ident.sim
			if t.ident.known {
				fr.PersonID, fr.Name, fr.Known = t.ident.personID, t.ident.name, true
			}
		}
		res.N++
	}
	clear(res.Faces[res.N:])
}

// warnRarely logs a hot-path failure at most once a second.
func (r *Runner) warnRarely(msg string, err error) {
	now := time.Now().UnixNano()
	last := r.lastWarn.Load()
	if now-last >= int64(time.Second) && r.lastWarn.CompareAndSwap(last, now) {
		r.log.Warn(msg, "err", err)
	}
}

// TrackSamples returns the best faces of a live track, best first, for
// enrollment ("enroll track 7 as 김민수"); the gallery service applies its
// quality gate and writes them.
func (r *Runner) TrackSamples(id int) ([]Sample, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.tr.find(id)
	if t == nil {
		return nil, fmt.Errorf("track %d: %w", id, ErrNoTrack)
	}
	if t.nsamples == 0 {
		return nil, fmt.Errorf("track %d: %w", id, ErrNoSamples)
	}
	model := r.cfg.Embedder.Model()
	out := make([]Sample, t.nsamples)
	for i := range out {
		s := &t.samples[i]
		out[i] = Sample{
			Quality:   s.q,
			Embedding: frame.Embedding{Vector: append([]float32(nil), s.vec[:]...), Model: model},
			Aligned:   append([]byte(nil), s.aligned[:]...),
			Time:      s.t,
		}
	}
	slices.SortFunc(out, func(a, b Sample) int { return cmp.Compare(b.Quality, a.Quality) })
	return out, nil
}

// Stats returns a snapshot of the runner's counters and latencies.
func (r *Runner) Stats() Stats {
	s := Stats{
		Camera:   r.Camera(),
		Frames:   r.frames.Load(),
		Dropped:  r.dropsBase.Load() + r.dropsLive.Load(),
		Faces:    r.faces.Load(),
		Embeds:   r.embeds.Load(),
		Tracks:   int(r.ntracks.Load()),
		Opens:    r.opens.Load(),
		Failures: r.failures.Load(),
	}
	if ns := r.started.Load(); ns != 0 {
		s.Started = time.Unix(0, ns)
	}
	for i := range s.Stages {
		s.Stages[i] = r.hist[i].stats()
	}
	s.Recognize = r.recognize.stats()
	s.Age = r.age.stats()
	return s
}

// Latest returns the result of the last processed frame (a copy).
func (r *Runner) Latest() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res
}

// presenceTimeout is how long a person must be away before they are
// announced again: the shared Presence's, so a change of the setting
// reaches every camera; Tuning's when the runner has no Presence.
func (r *Runner) presenceTimeout() time.Duration {
	if r.cfg.Presence != nil {
		return r.cfg.Presence.Timeout()
	}
	return r.tune.PresenceTimeout
}
