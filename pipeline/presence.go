package pipeline

import (
	"sync"
	"sync/atomic"
	"time"
)

// Presence keeps each person's home/away state across cameras: a person
// is home from the first sighting until no camera has seen them for the
// timeout. Runners sharing one Presence report sightings; it is safe for
// concurrent use.
type Presence struct {
	timeout atomic.Int64 // time.Duration; read by every runner's frame loop without a lock

	mu     sync.Mutex
	people map[string]*presenceEntry
}

type presenceEntry struct {
	name, camera string
	last         time.Time
	home         bool
}

// PersonPresence is one person's presence.
type PersonPresence struct {
	PersonID string
	Name     string
	Camera   string // where they were last seen
	LastSeen time.Time
	Home     bool
}

// NewPresence returns a presence tracker; a person seen nowhere for
// timeout is away (5 minutes when timeout <= 0).
func NewPresence(timeout time.Duration) *Presence {
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	p := &Presence{people: make(map[string]*presenceEntry)}
	p.timeout.Store(int64(timeout))
	return p
}

// Timeout returns the away timeout.
func (p *Presence) Timeout() time.Duration { return time.Duration(p.timeout.Load()) }

// SetTimeout changes the away timeout (ignored when <= 0).
func (p *Presence) SetTimeout(d time.Duration) {
	if d <= 0 {
		return
	}
	p.timeout.Store(int64(d))
}

// Seen records a sighting and reports whether the person just arrived
// (was away or unknown to the tracker).
func (p *Presence) Seen(id, name, camera string, t time.Time) (arrived bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.people[id]
	if !ok {
		e = &presenceEntry{}
		p.people[id] = e
	}
	arrived = !e.home
	e.name, e.camera, e.home = name, camera, true
	if t.After(e.last) {
		e.last = t
	}
	return arrived
}

// Expire marks away everyone not seen since now minus the timeout and
// calls away for each of them.
func (p *Presence) Expire(now time.Time, away func(PersonPresence)) {
	p.mu.Lock()
	var gone []PersonPresence
	for id, e := range p.people {
		if e.home && now.Sub(e.last) >= p.Timeout() {
			e.home = false
			gone = append(gone, PersonPresence{id, e.name, e.camera, e.last, false})
		}
	}
	p.mu.Unlock()
	for _, g := range gone {
		away(g)
	}
}

// Forget drops a person (e.g. deleted from the gallery).
func (p *Presence) Forget(id string) {
	p.mu.Lock()
	delete(p.people, id)
	p.mu.Unlock()
}

// State returns everyone's presence.
func (p *Presence) State() []PersonPresence {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]PersonPresence, 0, len(p.people))
	for id, e := range p.people {
		out = append(out, PersonPresence{id, e.name, e.camera, e.last, e.home})
	}
	return out
}

// Sweep reports everyone unseen for the timeout as away, on hub. Runners
// sweep on their frames' clock; the daemon also sweeps on the wall clock,
// so people go away when no camera is running at all.
func (p *Presence) Sweep(now time.Time, hub *Hub[Event]) {
	p.Expire(now, func(pp PersonPresence) {
		hub.Publish(Event{Type: EventPresence, ID: newEventID(now), Time: now, Camera: pp.Camera,
			PersonID: pp.PersonID, Name: pp.Name, State: StateAway})
	})
}
