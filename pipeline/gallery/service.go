package gallery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"log/slog"
	"sync"
	"time"

	"facegate/pipeline/frame"
)

// Store is the durable gallery. internal/store implements it with bbolt;
// every method that changes something does so in one transaction.
type Store interface {
	// Load returns every person, sample (Face may be left nil) and ignored face.
	Load() (Data, error)
	// Enroll adds samples to the person called name, creating the person
	// when absent; with mustBeNew an existing name fails with ErrNameTaken.
	// name is already normalised. It returns the person and whether it was
	// created.
	Enroll(name string, mustBeNew bool, samples []Sample) (Person, bool, error)
	// AddSamples adds samples to an existing person.
	AddSamples(personID string, samples []Sample) (Person, error)
	// Rename gives a person a new (normalised, unused) name.
	Rename(personID, name string) (Person, error)
	// DeletePerson removes a person and all their samples.
	DeletePerson(personID string) (Person, error)
	// DeleteSample removes one sample; a person's last sample cannot be
	// removed (delete the person instead).
	DeleteSample(personID, sampleID string) (Person, error)
	// Samples lists a person's samples with their face images.
	Samples(personID string) ([]Sample, error)
	// AddIgnored stores a face marked "not a person".
	AddIgnored(ig Ignored) error
	// DeleteIgnored removes one.
	DeleteIgnored(id string) error
}

// Restorer is a Store that can replace its whole content from a backup.
type Restorer interface {
	Restore(r io.Reader) error
}

// Described is one face prepared for the gallery.
type Described struct {
	Embedding frame.Embedding
	Face      image.Image // the aligned face (112×112), stored as a JPEG
	Quality   float32     // 0 (useless) … 1 (ideal)
	// Poor, when set, says why the face is too poor to enroll (too small,
	// blurred, turned away …); the service refuses such faces.
	Poor string
}

// Vision finds and describes faces. The service serialises its calls, so an
// implementation need not be safe for concurrent use.
type Vision interface {
	// Faces finds the faces in img, best first.
	Faces(img image.Image) ([]frame.Face, error)
	// Describe aligns and embeds one face found in img.
	Describe(img image.Image, f frame.Face) (Described, error)
	// Model is the identity of the embedding model (frame.Embedding.Model).
	Model() string
}

// ChangeKind says what changed in the gallery.
type ChangeKind string

// The kinds of change.
const (
	ChangeEnrolled      ChangeKind = "enrolled"       // a person was created
	ChangeSamplesAdded  ChangeKind = "samples_added"  // a person got samples
	ChangeSampleDeleted ChangeKind = "sample_deleted" // a person lost a sample
	ChangeRenamed       ChangeKind = "renamed"
	ChangeDeleted       ChangeKind = "deleted"
	ChangeIgnored       ChangeKind = "ignored"  // an ignored face was added or removed
	ChangeReloaded      ChangeKind = "reloaded" // everything may have changed (restore)
	ChangePolicy        ChangeKind = "policy"   // the decision rule changed
)

// Change is announced after a committed write and the snapshot swap.
type Change struct {
	Kind   ChangeKind
	Person Person // the person concerned (zero for ignored, reloaded, policy)
	// Snapshot is the gallery after the change.
	Snapshot *Snapshot
}

// Options configure a Service.
type Options struct {
	// Policy is the decision rule (DefaultPolicy() when zero).
	Policy Policy
	// Model is the embedding model identity when Vision is nil.
	Model string
	// MinQuality refuses enrollment faces of lower Described.Quality.
	MinQuality float32
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger receives what cannot be returned (nil: discard).
	Logger *slog.Logger
}

// Service is the one place where the gallery changes: the CLI, the web API
// and MQTT all enroll, rename and delete through it. Each write is one store
// transaction, after which a new snapshot is built and swapped into the
// matcher and the change is announced.
type Service struct {
	store   Store
	matcher *Matcher
	vision  Vision
	opt     Options
	model   string

	mu       sync.Mutex // serialises write → rebuild → swap → announce
	policy   Policy     // guarded by mu
	visionMu sync.Mutex // Vision implementations are not goroutine-safe

	subsMu sync.Mutex
	subs   map[int]func(Change)
	nextID int
}

// New loads the gallery from store into matcher (which the pipeline reads)
// and returns the service. vision may be nil when only the names are
// needed (listing, renaming, deleting).
func New(store Store, matcher *Matcher, vision Vision, opt Options) (*Service, error) {
	if opt.Policy == (Policy{}) {
		opt.Policy = DefaultPolicy()
	}
	if err := opt.Policy.Validate(); err != nil {
		return nil, err
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if matcher == nil {
		matcher = NewMatcher(nil)
	}
	s := &Service{store: store, matcher: matcher, vision: vision, opt: opt, policy: opt.Policy, model: opt.Model, subs: map[int]func(Change){}}
	if vision != nil {
		s.model = vision.Model()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.rebuildLocked(); err != nil {
		return nil, err
	}
	return s, nil
}

// Matcher is the matcher the service keeps current.
func (s *Service) Matcher() *Matcher { return s.matcher }

// Snapshot is the current gallery.
func (s *Service) Snapshot() *Snapshot { return s.matcher.Snapshot() }

// People lists the enrolled people, sorted by name.
func (s *Service) People() []Person { return s.matcher.Snapshot().People() }

// OnChange registers fn to be called after every committed change, in
// order, from the writing goroutine: fn must not block (hand the change
// to your own goroutine) and must not call the service's write methods.
// The returned function unregisters fn.
func (s *Service) OnChange(fn func(Change)) (remove func()) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	id := s.nextID
	s.nextID++
	s.subs[id] = fn
	return func() {
		s.subsMu.Lock()
		defer s.subsMu.Unlock()
		delete(s.subs, id)
	}
}

// rebuildLocked reloads the store into a new snapshot and swaps it in.
func (s *Service) rebuildLocked() error {
	d, err := s.store.Load()
	if err != nil {
		return fmt.Errorf("gallery: load: %w", err)
	}
	if len(d.Damaged) > 0 {
		s.opt.Logger.Error("gallery records are damaged and left out; re-enroll those people or restore a backup",
			"records", d.Damaged)
	}
	s.matcher.Swap(Build(d, s.model, s.policy))
	return nil
}

// committed rebuilds the snapshot after a committed write and announces
// the change. A failed reload cannot undo the commit: it is logged and the
// next write retries.
func (s *Service) committedLocked(kind ChangeKind, p Person) {
	if err := s.rebuildLocked(); err != nil {
		s.opt.Logger.Error("gallery snapshot not refreshed after a committed write", "change", kind, "err", err)
		return
	}
	c := Change{Kind: kind, Person: p, Snapshot: s.matcher.Snapshot()}
	s.subsMu.Lock()
	fns := make([]func(Change), 0, len(s.subs))
	for _, fn := range s.subs {
		fns = append(fns, fn)
	}
	s.subsMu.Unlock()
	for _, fn := range fns {
		fn(c)
	}
}

// Resolve finds a person by ID or by name (normalised first).
func (s *Service) Resolve(nameOrID string) (Person, error) {
	snap := s.matcher.Snapshot()
	if p, ok := snap.Person(nameOrID); ok {
		return p, nil
	}
	if n, err := NormalizeName(nameOrID); err == nil {
		if p, ok := snap.PersonByName(n); ok {
			return p, nil
		}
	}
	return Person{}, fmt.Errorf("gallery: %q: %w", nameOrID, ErrNotFound)
}

// Image is one image offered for enrollment or identification.
type Image struct {
	Label string // file name or upload name, echoed in results
	Img   image.Image
}

// ImageResult is what became of one enrollment image.
type ImageResult struct {
	Label    string
	SampleID string    // set when enrolled
	Box      frame.Box // the face used, in image pixels
	Quality  float32
	Err      error // why the image was refused (errors.Is ErrNoFace, ErrManyFaces, ErrPoorFace …)
}

// EnrollOptions modify an enrollment.
type EnrollOptions struct {
	// Largest takes the largest face of an image with several faces
	// instead of refusing the image.
	Largest bool
	// New refuses a name that is already enrolled (ErrNameTaken) instead
	// of adding samples to that person.
	New bool
}

// Enrollment is the outcome of EnrollImages or EnrollSamples.
type Enrollment struct {
	Person  Person
	Created bool
	Results []ImageResult // per image, in order (EnrollImages only)
}

// EnrollImages enrolls one sample per usable image under name. Images with
// no face, several faces (unless Largest) or a face too poor are refused
// with the reason in their result; the others are stored in one
// transaction. It fails with ErrNothingEnrolled when every image was
// refused, and then changes nothing.
func (s *Service) EnrollImages(ctx context.Context, name string, imgs []Image, src Source, opt EnrollOptions) (Enrollment, error) {
	name, err := NormalizeName(name)
	if err != nil {
		return Enrollment{}, err
	}
	if !src.Valid() {
		return Enrollment{}, fmt.Errorf("gallery: unknown source %q", src)
	}
	if s.vision == nil {
		return Enrollment{}, errors.New("gallery: no face models loaded")
	}
	if opt.New {
		// fail early, before the costly part; the store checks again
		if _, ok := s.matcher.Snapshot().PersonByName(name); ok {
			return Enrollment{}, fmt.Errorf("gallery: %q: %w", name, ErrNameTaken)
		}
	}
	res := make([]ImageResult, len(imgs))
	var samples []Sample
	for i, im := range imgs {
		if err := ctx.Err(); err != nil {
			return Enrollment{}, err
		}
		res[i] = ImageResult{Label: im.Label}
		sm, r := s.describeOne(im.Img, opt.Largest)
		r.Label = im.Label
		res[i] = r
		if r.Err != nil {
			continue
		}
		sm.Source = src
		samples = append(samples, sm)
		res[i].SampleID = sm.ID
	}
	if len(samples) == 0 {
		return Enrollment{Results: res}, fmt.Errorf("gallery: %w: every image was refused", ErrNothingEnrolled)
	}
	e, err := s.enroll(name, opt.New, samples)
	e.Results = res
	return e, err
}

// describeOne finds the face of one enrollment image and describes it.
func (s *Service) describeOne(img image.Image, largest bool) (Sample, ImageResult) {
	var r ImageResult
	if img == nil || img.Bounds().Empty() {
		r.Err = fmt.Errorf("%w: empty image", ErrNoFace)
		return Sample{}, r
	}
	s.visionMu.Lock()
	defer s.visionMu.Unlock()
	faces, src, err := s.findFaces(img)
	if err != nil {
		r.Err = err
		return Sample{}, r
	}
	switch {
	case len(faces) == 0:
		r.Err = ErrNoFace
		return Sample{}, r
	case len(faces) > 1 && !largest:
		r.Err = fmt.Errorf("%w (%d): enroll from a photo of one person", ErrManyFaces, len(faces))
		return Sample{}, r
	}
	f := faces[0]
	for _, g := range faces[1:] {
		if g.Box.Area() > f.Box.Area() {
			f = g
		}
	}
	d, err := s.vision.Describe(src.img, f)
	r.Box, r.Quality = src.toOriginal(f.Box), d.Quality
	if err != nil {
		r.Err = err
		return Sample{}, r
	}
	if d.Poor != "" {
		r.Err = fmt.Errorf("%w: %s", ErrPoorFace, d.Poor)
		return Sample{}, r
	}
	if d.Quality < s.opt.MinQuality {
		r.Err = fmt.Errorf("%w: quality %.2f below %.2f", ErrPoorFace, d.Quality, s.opt.MinQuality)
		return Sample{}, r
	}
	jpg, err := encodeFace(d.Face)
	if err != nil {
		r.Err = err
		return Sample{}, r
	}
	return Sample{ID: NewID(), Embedding: d.Embedding, Face: jpg, Quality: d.Quality}, r
}

// padded is an image faces were searched in: the original, or the
// original (perhaps reduced) centred on a larger canvas.
type padded struct {
	img    image.Image
	dx, dy float32 // offset of the original inside img
	scale  float32 // canvas pixels per original pixel (0 means 1)
}

// toOriginalPoint maps a point of img to the original image.
func (p padded) toOriginalPoint(x, y float32) (float32, float32) {
	k := p.scale
	if k == 0 {
		k = 1
	}
	return (x - p.dx) / k, (y - p.dy) / k
}

func (p padded) toOriginal(b frame.Box) frame.Box {
	k := p.scale
	if k == 0 {
		k = 1
	}
	b.X, b.Y = p.toOriginalPoint(b.X, b.Y)
	b.W, b.H = b.W/k, b.H/k
	return b
}

// maxCanvas bounds the side of the padded canvas, so a large photo without
// a face costs a small retry, not a canvas four times its size.
const maxCanvas = 1024

// findFaces runs the detector; when it finds nothing it tries once more
// with the image centred on a canvas twice its size, because photos cropped
// tightly to the face (common uploads) leave a full-frame detector no
// context. Boxes are in the coordinates of the returned image.
func (s *Service) findFaces(img image.Image) ([]frame.Face, padded, error) {
	faces, err := s.vision.Faces(img)
	if err != nil || len(faces) > 0 {
		return faces, padded{img: img}, err
	}
	b := img.Bounds()
	k := min(1, float64(maxCanvas)/float64(2*max(b.Dx(), b.Dy())))
	w, h := max(1, int(float64(b.Dx())*k)), max(1, int(float64(b.Dy())*k))
	canvas := image.NewRGBA(image.Rect(0, 0, 2*w, 2*h))
	for i := range canvas.Pix {
		canvas.Pix[i] = 128
	}
	off := image.Pt(w/2, h/2)
	drawScaled(canvas, img, off, w, h)
	faces, err = s.vision.Faces(canvas)
	return faces, padded{img: canvas, dx: float32(off.X), dy: float32(off.Y), scale: float32(w) / float32(b.Dx())}, err
}

// drawScaled draws src into dst at off, resized to w×h by nearest
// neighbour (alpha ignored: photos are opaque).
func drawScaled(dst *image.RGBA, src image.Image, off image.Point, w, h int) {
	b := src.Bounds()
	for y := 0; y < h; y++ {
		sy := b.Min.Y + y*b.Dy()/h
		for x := 0; x < w; x++ {
			sx := b.Min.X + x*b.Dx()/w
			r, g, bl, _ := src.At(sx, sy).RGBA()
			i := dst.PixOffset(off.X+x, off.Y+y)
			dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = byte(r>>8), byte(g>>8), byte(bl>>8), 255
		}
	}
}

// encodeFace stores an aligned face as a JPEG.
func encodeFace(img image.Image) ([]byte, error) {
	if img == nil {
		return nil, nil
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		return nil, fmt.Errorf("gallery: encode face: %w", err)
	}
	return buf.Bytes(), nil
}

// EnrollSamples enrolls faces already described elsewhere (a live track:
// embedding, aligned face JPEG, quality) under name. Samples of another
// model than the gallery's are refused with ErrModelMismatch.
func (s *Service) EnrollSamples(_ context.Context, name string, samples []Sample, opt EnrollOptions) (Enrollment, error) {
	name, err := NormalizeName(name)
	if err != nil {
		return Enrollment{}, err
	}
	prepared, err := s.prepare(samples)
	if err != nil {
		return Enrollment{}, err
	}
	return s.enroll(name, opt.New, prepared)
}

// AddSamples adds described faces to an existing person.
func (s *Service) AddSamples(_ context.Context, personID string, samples []Sample) (Person, error) {
	prepared, err := s.prepare(samples)
	if err != nil {
		return Person{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.store.AddSamples(personID, prepared)
	if err != nil {
		return Person{}, err
	}
	s.committedLocked(ChangeSamplesAdded, p)
	return p, nil
}

// prepare validates caller-made samples and fills in ID and time.
func (s *Service) prepare(samples []Sample) ([]Sample, error) {
	if len(samples) == 0 {
		return nil, fmt.Errorf("gallery: %w: no samples", ErrNothingEnrolled)
	}
	out := make([]Sample, len(samples))
	for i, sm := range samples {
		if sm.Embedding.Model != s.model || len(sm.Embedding.Vector) != frame.EmbeddingDim {
			return nil, fmt.Errorf("gallery: sample %d: %w (%s, %d values; gallery uses %s)",
				i, ErrModelMismatch, sm.Embedding.Model, len(sm.Embedding.Vector), s.model)
		}
		if sm.Source == "" {
			sm.Source = SourceCamera
		}
		if !sm.Source.Valid() {
			return nil, fmt.Errorf("gallery: sample %d: unknown source %q", i, sm.Source)
		}
		sm.ID, sm.PersonID = NewID(), ""
		out[i] = sm
	}
	return out, nil
}

func (s *Service) enroll(name string, mustBeNew bool, samples []Sample) (Enrollment, error) {
	now := s.opt.Now()
	for i := range samples {
		if samples[i].Time.IsZero() {
			samples[i].Time = now
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, created, err := s.store.Enroll(name, mustBeNew, samples)
	if err != nil {
		return Enrollment{}, err
	}
	kind := ChangeSamplesAdded
	if created {
		kind = ChangeEnrolled
	}
	s.committedLocked(kind, p)
	return Enrollment{Person: p, Created: created}, nil
}

// Rename gives person id a new name.
func (s *Service) Rename(_ context.Context, id, name string) (Person, error) {
	name, err := NormalizeName(name)
	if err != nil {
		return Person{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.store.Rename(id, name)
	if err != nil {
		return Person{}, err
	}
	s.committedLocked(ChangeRenamed, p)
	return p, nil
}

// Delete removes person id and all their samples.
func (s *Service) Delete(_ context.Context, id string) (Person, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.store.DeletePerson(id)
	if err != nil {
		return Person{}, err
	}
	s.committedLocked(ChangeDeleted, p)
	return p, nil
}

// Samples lists a person's samples, face JPEGs included.
func (s *Service) Samples(personID string) ([]Sample, error) { return s.store.Samples(personID) }

// DeleteSample removes one sample of a person (not their last).
func (s *Service) DeleteSample(_ context.Context, personID, sampleID string) (Person, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, err := s.store.DeleteSample(personID, sampleID)
	if err != nil {
		return Person{}, err
	}
	s.committedLocked(ChangeSampleDeleted, p)
	return p, nil
}

// Ignore marks a face as "not a person": faces nearer to it than to anyone
// enrolled are no longer named.
func (s *Service) Ignore(_ context.Context, e frame.Embedding) (Ignored, error) {
	if e.Model != s.model || len(e.Vector) != frame.EmbeddingDim {
		return Ignored{}, fmt.Errorf("gallery: ignore: %w", ErrModelMismatch)
	}
	ig := Ignored{ID: NewID(), Embedding: e, Time: s.opt.Now()}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.store.AddIgnored(ig); err != nil {
		return Ignored{}, err
	}
	s.committedLocked(ChangeIgnored, Person{})
	return ig, nil
}

// Unignore removes an ignored face.
func (s *Service) Unignore(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.store.DeleteIgnored(id); err != nil {
		return err
	}
	s.committedLocked(ChangeIgnored, Person{})
	return nil
}

// SetPolicy changes the decision rule (e.g. the threshold setting).
func (s *Service) SetPolicy(p Policy) error {
	if err := p.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.policy
	s.policy = p
	if err := s.rebuildLocked(); err != nil {
		s.policy = old
		return err
	}
	s.committedLocked(ChangePolicy, Person{})
	return nil
}

// Restore replaces the whole gallery from a backup (the store must be a
// Restorer), then reloads and announces it.
func (s *Service) Restore(_ context.Context, r io.Reader) error {
	rs, ok := s.store.(Restorer)
	if !ok {
		return errors.New("gallery: the store cannot restore backups")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := rs.Restore(r); err != nil {
		return err
	}
	s.committedLocked(ChangeReloaded, Person{})
	return nil
}

// Reload rebuilds the snapshot from the store (after a change made behind
// the service's back) and announces it.
func (s *Service) Reload() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.rebuildLocked(); err != nil {
		return err
	}
	s.committedLocked(ChangeReloaded, Person{})
	return nil
}

// Identified is one face found by Identify.
type Identified struct {
	Face    frame.Face // in the image's pixels
	Quality float32
	Result  Result
}

// Identify finds every face in img and matches it with the gallery.
func (s *Service) Identify(ctx context.Context, img image.Image) ([]Identified, error) {
	if s.vision == nil {
		return nil, errors.New("gallery: no face models loaded")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.visionMu.Lock()
	defer s.visionMu.Unlock()
	faces, src, err := s.findFaces(img)
	if err != nil {
		return nil, err
	}
	snap := s.matcher.Snapshot()
	out := make([]Identified, 0, len(faces))
	for _, f := range faces {
		d, err := s.vision.Describe(src.img, f)
		if err != nil {
			return nil, err
		}
		g := f
		g.Box = src.toOriginal(f.Box)
		for k := range g.Keypoints {
			g.Keypoints[k].X, g.Keypoints[k].Y = src.toOriginalPoint(f.Keypoints[k].X, f.Keypoints[k].Y)
		}
		out = append(out, Identified{Face: g, Quality: d.Quality, Result: snap.Match(d.Embedding)})
	}
	return out, nil
}
