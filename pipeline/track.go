package pipeline

import (
	"cmp"
	"slices"
	"time"

	"facegate/pipeline/frame"
)

const (
	maxVotes   = 8 // upper bound of Tuning.Votes
	maxSamples = 4 // best aligned faces kept per track for enrollment
	thumbSide  = 128
)

// vote is one match of a track's embedding against the gallery.
type vote struct {
	personID, name string
	sim            float32
	known          bool
}

// sampleBuf is one kept face of a track, preallocated.
type sampleBuf struct {
	q       float32
	t       time.Time
	vec     [frame.EmbeddingDim]float32
	aligned [AlignedSize * AlignedSize * 3]byte
}

// track is one face followed across frames. Tracks live in a fixed pool
// and are reset, never freed, so tracking allocates nothing.
type track struct {
	trackState

	// Preallocated buffers, kept across resets.
	vecs    [maxVotes][frame.EmbeddingDim]float32 // ring of the last embeddings
	samples [maxSamples]sampleBuf
	thumb   []byte // packed RGB, thumbW×thumbH
}

// trackState is the part of a track cleared when the pool reuses it.
type trackState struct {
	id          int
	face        frame.Face // latest detection
	first, last time.Time
	hits        int // frames in which it was detected
	det         int // detection index this frame, -1 when missed

	// votes are the matches of vecs[:nvec] against the current snapshot.
	votes     [maxVotes]vote
	nvec      int
	vpos      int
	lastEmbed time.Time

	ident     vote   // current identity, held until another wins the vote
	decided   bool   // ident is valid
	everKnown bool   // was ever named (then never reported unknown)
	announced string // person a recognized decision was made for
	unknown   bool   // unknown decision made (event sent or suppressed)
	stranger  int    // 1 + the stranger slot this unknown face refreshes; 0: none
	evented   bool   // an event was sent: send left when it goes

	nsamples   int
	thumbW     int
	thumbH     int
	thumbScore float32
}

func (t *track) reset(id int, face frame.Face, now time.Time) {
	t.trackState = trackState{id: id, face: face, first: now, last: now, hits: 1}
	t.thumb = t.thumb[:0]
}

// pair is a candidate track–detection assignment.
type pair struct {
	iou  float32
	t, d int
}

func byIoUDesc(a, b pair) int { return cmp.Compare(b.iou, a.iou) }

// tracker assigns detections to tracks by greedy IoU (best pairs first),
// which for the few faces of a doorway camera equals the optimal
// assignment in practice and needs no allocation.
type tracker struct {
	minIoU  float32
	live    []*track
	free    []*track
	nextID  int
	pairs   []pair
	detUsed []bool
}

func newTracker(maxTracks int, minIoU float32) *tracker {
	tr := &tracker{minIoU: minIoU, nextID: 1,
		live:  make([]*track, 0, maxTracks),
		free:  make([]*track, 0, maxTracks),
		pairs: make([]pair, 0, maxTracks*maxTracks),
	}
	for range maxTracks {
		tr.free = append(tr.free, &track{thumb: make([]byte, 0, thumbSide*thumbSide*3)})
	}
	return tr
}

// update matches dets to the live tracks and starts tracks for the
// unmatched detections while the pool lasts.
func (tr *tracker) update(dets []frame.Face, now time.Time) {
	tr.pairs = tr.pairs[:0]
	for ti, t := range tr.live {
		t.det = -1
		for di := range dets {
			if iou := t.face.Box.IoU(dets[di].Box); iou >= tr.minIoU {
				tr.pairs = append(tr.pairs, pair{iou, ti, di})
			}
		}
	}
	slices.SortFunc(tr.pairs, byIoUDesc)
	if cap(tr.detUsed) < len(dets) {
		tr.detUsed = make([]bool, len(dets))
	}
	tr.detUsed = tr.detUsed[:len(dets)]
	clear(tr.detUsed)
	for _, p := range tr.pairs {
		t := tr.live[p.t]
		if t.det >= 0 || tr.detUsed[p.d] {
			continue
		}
		t.det, tr.detUsed[p.d] = p.d, true
		t.face, t.last = dets[p.d], now
		t.hits++
	}
	for di := range dets {
		if tr.detUsed[di] || len(tr.free) == 0 {
			continue
		}
		t := tr.free[len(tr.free)-1]
		tr.free = tr.free[:len(tr.free)-1]
		t.reset(tr.nextID, dets[di], now)
		t.det = di
		tr.nextID++
		tr.live = append(tr.live, t)
	}
}

// expire removes tracks not seen for longer than after, calling gone for
// each before it is recycled.
func (tr *tracker) expire(now time.Time, after time.Duration, gone func(*track)) {
	j := 0
	for _, t := range tr.live {
		if now.Sub(t.last) > after {
			gone(t)
			tr.free = append(tr.free, t)
			continue
		}
		tr.live[j] = t
		j++
	}
	clear(tr.live[j:])
	tr.live = tr.live[:j]
}

// find returns the live track with id.
func (tr *tracker) find(id int) *track {
	for _, t := range tr.live {
		if t.id == id {
			return t
		}
	}
	return nil
}

// decide returns the identity the votes support: the person with the most
// votes when they have at least minKnown and more than the unknown votes;
// else unknown when unknown votes are a majority of window; else nothing.
func decide(votes []vote, minKnown, window int) (vote, bool) {
	bestN, unknownN := 0, 0
	var best vote
	var unknownSim float32 = -1
	for i, v := range votes {
		if !v.known {
			unknownN++
			unknownSim = max(unknownSim, v.sim)
			continue
		}
		n := 0
		var sim float32 = -1
		for _, w := range votes[i:] {
			if w.known && w.personID == v.personID {
				n++
				sim = max(sim, w.sim)
			}
		}
		if n > bestN {
			bestN, best = n, v
			best.sim = sim
		}
	}
	switch {
	case bestN >= minKnown && bestN > unknownN:
		return best, true
	case unknownN > window/2:
		return vote{sim: unknownSim}, true
	}
	return vote{}, false
}
