package mqtt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/text/unicode/norm"

	"facegate/internal/testenv"
)

// fakeGallery is an in-memory gallery with the contract of Gallery: a
// change happens completely or not at all. faces counts the faces in an
// image; the default decodes the image and says 1.
type fakeGallery struct {
	mu       sync.Mutex
	people   []Person
	seq      int
	mutated  int // successful changes
	camCalls []string
	faces    func(img []byte) (int, error)
	health   any
}

func (g *fakeGallery) People(context.Context) ([]Person, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.people), nil
}

func (g *fakeGallery) RegisterImage(_ context.Context, name string, img []byte) (Person, error) {
	n := 1
	if g.faces != nil {
		var err error
		if n, err = g.faces(img); err != nil {
			return Person{}, err
		}
	} else if _, _, err := image.Decode(bytes.NewReader(img)); err != nil {
		return Person{}, fmt.Errorf("cannot decode image: %w", err)
	}
	switch {
	case n == 0:
		return Person{}, errors.New("no face found in the image")
	case n > 1:
		return Person{}, fmt.Errorf("%d faces in the image; send a photo with one face", n)
	}
	return g.add(name), nil
}

func (g *fakeGallery) add(name string) Person {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mutated++
	for i, p := range g.people {
		if p.Name == name {
			g.people[i].Samples++
			return g.people[i]
		}
	}
	g.seq++
	p := Person{ID: fmt.Sprintf("p%04d", g.seq), Name: name, Samples: 1}
	g.people = append(g.people, p)
	return p
}

func (g *fakeGallery) RegisterFromCamera(_ context.Context, camera, name string, _ time.Duration) (Person, error) {
	g.mu.Lock()
	g.camCalls = append(g.camCalls, camera+"|"+name)
	g.mu.Unlock()
	return g.add(name), nil
}

func (g *fakeGallery) Delete(_ context.Context, id string) (Person, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, p := range g.people {
		if p.ID == id {
			g.people = slices.Delete(g.people, i, i+1)
			g.mutated++
			return p, nil
		}
	}
	return Person{}, fmt.Errorf("no person with id %q", id)
}

func (g *fakeGallery) Rename(_ context.Context, id, name string) (Person, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, p := range g.people {
		if p.ID == id {
			g.people[i].Name = norm.NFC.String(name)
			g.mutated++
			return g.people[i], nil
		}
	}
	return Person{}, fmt.Errorf("no person with id %q", id)
}

func (g *fakeGallery) IgnoreLastUnknown(context.Context) error {
	return errors.New("no unknown face seen yet")
}

func (g *fakeGallery) Health(context.Context) (any, error) {
	if g.health == nil {
		return map[string]string{"status": "ok"}, nil
	}
	return g.health, nil
}

func (g *fakeGallery) snapshot() ([]Person, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.people), g.mutated
}

// testdata returns a file of ../shared/testdata (or $FACEGATE_TESTDATA),
// skipping when it is absent.
func testdata(t testing.TB, rel string) string {
	return testenv.Testdata(t, rel)
}
