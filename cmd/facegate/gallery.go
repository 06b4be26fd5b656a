package main

// The gallery commands: enroll, identify, people, rename, forget, backup,
// restore. They work on the store in --state-dir, through the same
// gallery.Service the daemon uses; while the daemon runs the store is
// locked and they say so (use the web page instead).

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/text/width"

	"facegate/internal/store"
	"facegate/pipeline/gallery"
)

// defaultStateDir is ./data outside systemd; FACEGATE_STATE_DIR overrides it.
func defaultStateDir() string {
	if d := os.Getenv("FACEGATE_STATE_DIR"); d != "" {
		return d
	}
	return "./data"
}

// galleryFlags parses a gallery command's flags; usage is "facegate NAME
// [flags] " + operands. extra adds command-specific flags.
func galleryFlags(name, operands string, s stdio, args []string, extra func(*flag.FlagSet)) (stateDir string, rest []string, err error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(s.err)
	fs.StringVar(&stateDir, "state-dir", defaultStateDir(), "state directory holding "+store.FileName+" (created 0700)")
	if extra != nil {
		extra(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(s.err, "usage: facegate %s [flags] %s\n", name, operands)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return "", nil, errUsage
	}
	return stateDir, fs.Args(), nil
}

func usageError(s stdio, name, msg string) error {
	fmt.Fprintf(s.err, "facegate %s: %s (see facegate %s -h)\n", name, msg, name)
	return errUsage
}

// errNoGallery: a command that reads the gallery found no store.
var errNoGallery = errors.New("no gallery here yet: enroll someone first (or pass --state-dir)")

// openGallery opens the store and a gallery service on it; with vision it
// also loads the face models. Only enroll (create) makes a new store; the
// other commands fail with errNoGallery rather than leave an empty one
// behind in whatever directory they were run from.
func openGallery(stateDir string, v *visionFlags, create bool) (*store.Store, *gallery.Service, func(), error) {
	if !create {
		if _, err := os.Stat(filepath.Join(stateDir, store.FileName)); errors.Is(err, os.ErrNotExist) {
			return nil, nil, nil, fmt.Errorf("%s: %w", stateDir, errNoGallery)
		}
	}
	st, err := store.OpenDir(stateDir, store.Options{})
	if err != nil {
		return nil, nil, nil, err
	}
	closers := []func(){func() { st.Close() }}
	cleanup := func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	var vis gallery.Vision
	opt := gallery.Options{Model: "none"} // names only: no embedding is compared
	if v != nil {
		det, emb, err := loadVision(v.model, v.threads)
		if err != nil {
			cleanup()
			return nil, nil, nil, err
		}
		closers = append(closers, det.Close, emb.Close)
		vis = &gallery.ModelVision{Det: det, Emb: emb}
	}
	if pol, ok := storedPolicy(st); ok {
		opt.Policy = pol
	}
	svc, err := gallery.New(st, nil, vis, opt)
	if err != nil {
		cleanup()
		return nil, nil, nil, err
	}
	return st, svc, cleanup, nil
}

// storedPolicy applies a user threshold the daemon keeps in its settings
// ({"threshold": x} under "recognition", or under "settings" as the web
// page's settings record), so the CLI names faces as the daemon would.
func storedPolicy(st *store.Store) (gallery.Policy, bool) {
	var rec struct {
		Threshold float32 `json:"threshold"`
	}
	for _, key := range []string{"recognition", "settings"} {
		if err := st.Setting(key, &rec); err == nil && rec.Threshold > 0 {
			break
		}
	}
	if rec.Threshold <= 0 {
		return gallery.Policy{}, false
	}
	p := gallery.DefaultPolicy()
	p.Fixed = rec.Threshold
	return p, p.Validate() == nil
}

func visionFlagSet(v *visionFlags) func(*flag.FlagSet) {
	return func(fs *flag.FlagSet) {
		fs.StringVar(&v.model, "model", "short", "detector: short (faces within ~2 m) or full (farther)")
		fs.IntVar(&v.threads, "threads", 1, "inference threads")
	}
}

func checkVision(s stdio, name string, v visionFlags) error {
	if v.model != "short" && v.model != "full" {
		return usageError(s, name, fmt.Sprintf("--model must be short or full, not %q", v.model))
	}
	if v.threads < 1 {
		return usageError(s, name, "--threads must be at least 1")
	}
	return nil
}

func runEnroll(ctx context.Context, s stdio, args []string) error {
	var v visionFlags
	var name string
	var largest, onlyNew bool
	dir, files, err := galleryFlags("enroll", "--name NAME IMAGE...", s, args, func(fs *flag.FlagSet) {
		visionFlagSet(&v)(fs)
		fs.StringVar(&name, "name", "", "the person's name (1–64 characters; an existing name gets more samples)")
		fs.BoolVar(&largest, "largest", false, "in photos with several faces, enroll the largest instead of refusing the photo")
		fs.BoolVar(&onlyNew, "new", false, "refuse a name that is already enrolled instead of adding samples to that person")
	})
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usageError(s, "enroll", "no images given")
	}
	if err := checkVision(s, "enroll", v); err != nil {
		return err
	}
	norm, err := gallery.NormalizeName(name)
	if err != nil {
		return usageError(s, "enroll", fmt.Sprintf("--name: %v", err))
	}
	_, svc, cleanup, err := openGallery(dir, &v, true)
	if err != nil {
		return err
	}
	defer cleanup()

	var imgs []gallery.Image
	refused := 0
	for _, path := range files {
		img, err := decodeImageFile(path)
		if err != nil {
			fmt.Fprintf(s.err, "%s: refused: %v\n", path, unwrapPath(err, path))
			refused++
			continue
		}
		imgs = append(imgs, gallery.Image{Label: path, Img: img})
	}
	if len(imgs) == 0 {
		return fmt.Errorf("nothing enrolled: no image could be read")
	}
	e, err := svc.EnrollImages(ctx, norm, imgs, gallery.SourceCLI, gallery.EnrollOptions{Largest: largest, New: onlyNew})
	for _, r := range e.Results {
		if r.Err != nil {
			msg := r.Err.Error()
			if errors.Is(r.Err, gallery.ErrManyFaces) && !largest {
				msg += ", or use --largest"
			}
			fmt.Fprintf(s.err, "%s: refused: %s\n", r.Label, msg)
			refused++
			continue
		}
		fmt.Fprintf(s.out, "%s: enrolled (quality %.2f)\n", r.Label, r.Quality)
	}
	if err != nil {
		return err
	}
	verb := "added to"
	if e.Created {
		verb = "enrolled as new person"
	}
	fmt.Fprintf(s.out, "%d of %d photos %s %q (id %s, %d samples)\n",
		len(files)-refused, len(files), verb, e.Person.Name, e.Person.ID, e.Person.Samples)
	return nil
}

// identifiedFace is one face of identify's output.
type identifiedFace struct {
	Box        [4]float32 `json:"box"`
	PersonID   *string    `json:"person_id"`
	Name       *string    `json:"name"`
	Similarity float32    `json:"similarity"`
	Known      bool       `json:"known"`
}

func runIdentify(ctx context.Context, s stdio, args []string) error {
	var v visionFlags
	dir, files, err := galleryFlags("identify", "IMAGE...", s, args, visionFlagSet(&v))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return usageError(s, "identify", "no images given")
	}
	if err := checkVision(s, "identify", v); err != nil {
		return err
	}
	_, svc, cleanup, err := openGallery(dir, &v, false)
	if err != nil {
		return err
	}
	defer cleanup()
	out := bufio.NewWriter(s.out)
	defer out.Flush()
	enc := json.NewEncoder(out)
	return eachImage(ctx, s, "identify", files, func(path string, img image.Image) error {
		found, err := svc.Identify(ctx, img)
		if err != nil {
			return err
		}
		faces := make([]identifiedFace, len(found))
		for i, f := range found {
			b := f.Face.Box
			faces[i] = identifiedFace{Box: [4]float32{b.X, b.Y, b.W, b.H}, Similarity: f.Result.Similarity, Known: f.Result.Known}
			if f.Result.Known {
				id, name := f.Result.PersonID, f.Result.Name
				faces[i].PersonID, faces[i].Name = &id, &name
			}
		}
		err = enc.Encode(struct {
			File  string           `json:"file"`
			Faces []identifiedFace `json:"faces"`
		}{path, faces})
		if err == nil {
			err = out.Flush()
		}
		return err
	})
}

func runPeople(_ context.Context, s stdio, args []string) error {
	var asJSON bool
	dir, rest, err := galleryFlags("people", "", s, args, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print a JSON array")
	})
	if err != nil {
		return err
	}
	if len(rest) != 0 {
		return usageError(s, "people", "no operands expected")
	}
	_, svc, cleanup, err := openGallery(dir, nil, false)
	if errors.Is(err, errNoGallery) {
		if asJSON {
			fmt.Fprintln(s.out, "[]")
		} else {
			fmt.Fprintln(s.err, "no one is enrolled")
		}
		return nil
	}
	if err != nil {
		return err
	}
	defer cleanup()
	people := svc.People() // sorted by name
	if asJSON {
		if people == nil {
			people = []gallery.Person{}
		}
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		return enc.Encode(people)
	}
	if len(people) == 0 {
		fmt.Fprintln(s.err, "no one is enrolled")
		return nil
	}
	// Pad names by their display width: Hangul and other wide characters
	// take two terminal columns (tabwriter counts them as one).
	nameCol := len("NAME")
	for _, p := range people {
		nameCol = max(nameCol, displayWidth(p.Name))
	}
	pad := func(n string) string { return n + strings.Repeat(" ", nameCol-displayWidth(n)) }
	w := bufio.NewWriter(s.out)
	fmt.Fprintf(w, "%-16s  %s  %7s  %s\n", "ID", pad("NAME"), "SAMPLES", "UPDATED")
	for _, p := range people {
		fmt.Fprintf(w, "%-16s  %s  %7d  %s\n", p.ID, pad(p.Name), p.Samples, p.Updated.Local().Format(time.DateTime))
	}
	return w.Flush()
}

// displayWidth is the number of terminal columns s takes.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		switch width.LookupRune(r).Kind() {
		case width.EastAsianWide, width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}

func runRename(ctx context.Context, s stdio, args []string) error {
	dir, rest, err := galleryFlags("rename", "ID NAME", s, args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 2 {
		return usageError(s, "rename", "want a person ID and a new name")
	}
	_, svc, cleanup, err := openGallery(dir, nil, false)
	if err != nil {
		return err
	}
	defer cleanup()
	p, err := svc.Resolve(rest[0]) // an ID, or (forgivingly) the current name
	if err != nil {
		return err
	}
	old := p.Name
	p, err = svc.Rename(ctx, p.ID, rest[1])
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "renamed %q to %q (id %s)\n", old, p.Name, p.ID)
	return nil
}

func runForget(ctx context.Context, s stdio, args []string) error {
	dir, rest, err := galleryFlags("forget", "NAME|ID", s, args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(s, "forget", "want one name or person ID")
	}
	_, svc, cleanup, err := openGallery(dir, nil, false)
	if err != nil {
		return err
	}
	defer cleanup()
	p, err := svc.Resolve(rest[0])
	if err != nil {
		return err
	}
	if _, err := svc.Delete(ctx, p.ID); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "forgot %q (id %s, %d samples)\n", p.Name, p.ID, p.Samples)
	return nil
}

func runBackup(_ context.Context, s stdio, args []string) error {
	dir, rest, err := galleryFlags("backup", "FILE", s, args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(s, "backup", "want one output file")
	}
	path := filepath.Join(dir, store.FileName)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no store to back up: %w", err)
	}
	st, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.BackupFile(rest[0]); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "backed up %s to %s\n", path, rest[0])
	return nil
}

func runRestore(_ context.Context, s stdio, args []string) error {
	dir, rest, err := galleryFlags("restore", "FILE", s, args, nil)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usageError(s, "restore", "want one backup file")
	}
	f, err := os.Open(rest[0])
	if err != nil {
		return err
	}
	defer f.Close()
	if err := store.Validate(rest[0]); err != nil {
		return fmt.Errorf("%s: %w; the store is untouched", rest[0], err)
	}
	st, err := store.OpenDir(dir, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.Restore(io.Reader(f)); err != nil {
		return err
	}
	people, err := st.People()
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "restored %s from %s: %d people\n", st.Path(), rest[0], len(people))
	return nil
}
