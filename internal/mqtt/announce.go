package mqtt

import (
	"facegate/pipeline/annotate"

	"context"
	"time"

	"facegate/pipeline/frame"
)

// Publish hands one event to the bridge without waiting. When the bridge is
// behind, the event is dropped and counted; the pipeline never waits for
// MQTT. The event's Image, if any, now belongs to the bridge.
func (b *Bridge) Publish(ev Event) {
	if b == nil {
		return
	}
	select {
	case b.events <- ev:
	default:
		n := b.eventsDropped.Add(1)
		if b.dropLog.ok() {
			b.log.Warn("mqtt behind; events dropped", "dropped_total", n)
		}
	}
}

// SetPresence hands one presence change to the bridge without waiting; it is
// published retained on <base>/person/<id>.
func (b *Bridge) SetPresence(p Presence) {
	if b == nil {
		return
	}
	select {
	case b.presence <- p:
	default:
		n := b.eventsDropped.Add(1)
		if b.dropLog.ok() {
			b.log.Warn("mqtt behind; presence updates dropped", "dropped_total", n)
		}
	}
}

// PeopleChanged tells the bridge that the gallery changed (enrolled, renamed
// or deleted from the web page or the CLI): it reloads the people and
// re-publishes the people list and the discovery. It never waits.
func (b *Bridge) PeopleChanged() {
	if b == nil {
		return
	}
	signal(b.peopleDirty)
}

// announceState is what the announcer has published retained, kept so that
// everything can be published again after a reconnection (a restarted broker
// without persistence forgets retained messages).
type announceState struct {
	people   []Person
	presence map[string]presenceJSON // person id → state on <base>/person/<id>
	deleted  map[string]bool         // people deleted while running: late presence updates are ignored
	snapshot []byte
	painter  *annotate.Painter
}

// announcer owns the retained state and turns events, presence and gallery
// changes into messages.
func (b *Bridge) announcer(ctx context.Context, people []Person) {
	st := &announceState{
		people:   people,
		presence: map[string]presenceJSON{},
		deleted:  map[string]bool{},
		painter:  annotate.NewPainter(b.opts.FontPath, b.log),
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-b.connected:
			b.publishAll(ctx, st)
		case <-b.haOnline:
			b.publishDiscovery(ctx, st.people)
		case <-b.discoveryCheck:
			if len(b.staleComponents(st.people)) > 0 {
				b.publishDiscovery(ctx, st.people)
			}
		case <-b.peopleDirty:
			b.reloadPeople(ctx, st)
		case ev := <-b.events:
			b.announceEvent(ctx, st, ev)
		case p := <-b.presence:
			b.announcePresence(ctx, st, p)
		}
	}
}

// publishAll publishes "online" and then every retained message.
func (b *Bridge) publishAll(ctx context.Context, st *announceState) {
	b.send(ctx, b.t.status, []byte("online"), true)
	b.publishDiscovery(ctx, st.people)
	b.send(ctx, b.t.people, mustJSON(peopleJSON(st.people)), true)
	st.settlePresence(st.people)
	for id, pj := range st.presence {
		b.send(ctx, b.t.person(id), mustJSON(pj), true)
	}
	if st.snapshot != nil {
		b.send(ctx, b.t.snapshot, st.snapshot, true)
	}
	b.mu.Lock()
	name := b.haName
	b.mu.Unlock()
	if b.opts.Discovery {
		b.send(ctx, b.t.haNameState, []byte(name), true)
	}
}

func (b *Bridge) loadPeople(ctx context.Context) ([]Person, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	people, err := b.gallery.People(ctx)
	if err != nil {
		b.log.Warn("mqtt: cannot list people", "err", err)
		return nil, err
	}
	return people, nil
}

// reloadPeople publishes the people list and discovery after a gallery
// change, and clears the retained presence of people who are gone.
func (b *Bridge) reloadPeople(ctx context.Context, st *announceState) {
	people, err := b.loadPeople(ctx)
	if err != nil {
		return // a failing gallery must not look like "everyone was deleted"
	}
	now := map[string]bool{}
	for _, p := range people {
		now[p.ID] = true
	}
	for _, p := range st.people {
		if !now[p.ID] && validID(p.ID) {
			delete(st.presence, p.ID)
			st.deleted[p.ID] = true
			b.send(ctx, b.t.person(p.ID), nil, true) // an empty retained message deletes it
		}
	}
	st.people = people
	for _, id := range st.settlePresence(people) {
		b.send(ctx, b.t.person(id), mustJSON(st.presence[id]), true)
	}
	b.send(ctx, b.t.people, mustJSON(peopleJSON(people)), true)
	b.publishDiscovery(ctx, people)
}

// settlePresence gives every enrolled person a presence state (away until
// the pipeline sees them, so that Home Assistant's sensors are off rather
// than unknown) and the current name (after a rename). It returns the ids
// whose state changed.
func (st *announceState) settlePresence(people []Person) []string {
	var changed []string
	for _, p := range people {
		if !validID(p.ID) {
			continue
		}
		pj, ok := st.presence[p.ID]
		switch {
		case !ok:
			pj = presenceJSON{State: Away, Name: p.Name}
		case pj.Name != p.Name:
			pj.Name = p.Name
		default:
			continue
		}
		st.presence[p.ID] = pj
		changed = append(changed, p.ID)
	}
	return changed
}

// eventJSON is the payload of <base>/event.
type eventJSON struct {
	Type       string     `json:"type"`
	ID         string     `json:"id"`
	Time       time.Time  `json:"time"`
	Camera     string     `json:"camera"`
	Track      int64      `json:"track"`
	PersonID   *string    `json:"person_id"`
	Name       *string    `json:"name"`
	Similarity float32    `json:"similarity"`
	Box        [4]float32 `json:"box"`
	Snapshot   *string    `json:"snapshot"`
}

func (b *Bridge) announceEvent(ctx context.Context, st *announceState, ev Event) {
	e := eventJSON{
		Type: ev.Type, ID: ev.ID, Time: ev.Time, Camera: ev.Camera, Track: ev.Track,
		Similarity: ev.Similarity,
		Box:        [4]float32{ev.Box.X, ev.Box.Y, ev.Box.W, ev.Box.H},
	}
	if ev.PersonID != "" {
		e.PersonID = &ev.PersonID
	}
	if ev.Name != "" {
		e.Name = &ev.Name
	}
	img, labels := ev.Image, ev.Faces
	if len(labels) == 0 {
		labels = []Label{{Box: ev.Box, Name: ev.Name}}
	}
	if img == nil && len(ev.Thumb) > 0 && (ev.Type == EventRecognized || ev.Type == EventUnknown) {
		var box frame.Box
		var err error
		if img, box, err = thumbCanvas(ev.Thumb, ev.Box); err != nil {
			b.snapFailed.Add(1)
			b.log.Warn("mqtt: event thumbnail unreadable", "err", err)
		}
		labels = []Label{{Box: box, Name: ev.Name}}
	}
	if img != nil {
		jpg, err := st.painter.Render(img, labels)
		if err != nil {
			b.snapFailed.Add(1)
			b.log.Warn("mqtt: snapshot not drawn", "err", err)
		} else {
			// The snapshot goes first, so whoever reacts to the event finds
			// its picture already on <base>/snapshot.
			st.snapshot = jpg
			b.send(ctx, b.t.snapshot, jpg, true)
			topic := b.t.snapshot
			e.Snapshot = &topic
		}
	}
	b.send(ctx, b.t.event, mustJSON(e), false)
}

// presenceJSON is the payload of <base>/person/<id>.
type presenceJSON struct {
	State    string     `json:"state"`
	Name     string     `json:"name"`
	LastSeen *time.Time `json:"last_seen"`
	Camera   string     `json:"camera"`
}

func (b *Bridge) announcePresence(ctx context.Context, st *announceState, p Presence) {
	if !validID(p.PersonID) {
		b.log.Warn("mqtt: presence for a person id unusable in a topic", "person_id", p.PersonID)
		return
	}
	if st.deleted[p.PersonID] {
		return // the pipeline's presence tracker may still expire a deleted person
	}
	if p.State != Home && p.State != Away {
		b.log.Warn("mqtt: unknown presence state", "state", p.State)
		return
	}
	pj := presenceJSON{State: p.State, Name: p.Name, Camera: p.Camera}
	if !p.LastSeen.IsZero() {
		t := p.LastSeen
		pj.LastSeen = &t
	}
	st.presence[p.PersonID] = pj
	b.send(ctx, b.t.person(p.PersonID), mustJSON(pj), true)
}
