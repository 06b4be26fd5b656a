package pipeline

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// Stage names a step of the frame loop whose latency is measured.
type Stage int

// The measured stages, in frame order.
const (
	StageDecode Stage = iota // producing the frame (the source's decode time, else the wait in Next)
	StageDetect              // face detection
	StageTrack               // IoU tracking, voting and events
	StageEmbed               // alignment and embedding, per face embedded
	StageMatch               // gallery matching, per embedding matched
	StageFrame               // the whole frame after Next returned
	NumStages
)

var stageNames = [NumStages]string{"decode", "detect", "track", "embed", "match", "frame"}

// String names the stage.
func (s Stage) String() string {
	if s < 0 || s >= NumStages {
		return "unknown"
	}
	return stageNames[s]
}

// histogram is a lock-free latency histogram with four buckets per
// octave from 1µs (about 19 % resolution), cheap enough for every frame.
type histogram struct {
	counts [1 + 4*40]atomic.Uint64
	sum    atomic.Int64
	n      atomic.Uint64
	max    atomic.Int64
}

func bucketOf(d time.Duration) int {
	us := uint64(d / time.Microsecond)
	if us == 0 {
		return 0
	}
	oct := bits.Len64(us) - 1
	var sub uint64
	if oct >= 2 {
		sub = (us >> (oct - 2)) & 3
	} else {
		sub = (us << (2 - oct)) & 3
	}
	return min(1+4*oct+int(sub), 4*40)
}

// bucketUpper is the upper bound of bucket i.
func bucketUpper(i int) time.Duration {
	if i == 0 {
		return time.Microsecond
	}
	oct, sub := (i-1)/4, (i-1)%4
	return time.Duration((uint64(4+sub+1) << oct) / 4 * uint64(time.Microsecond))
}

func (h *histogram) record(d time.Duration) {
	h.counts[bucketOf(d)].Add(1)
	h.sum.Add(int64(d))
	h.n.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			return
		}
	}
}

// StageStats summarises one stage's latencies.
type StageStats struct {
	Count                    uint64
	Mean, P50, P90, P99, Max time.Duration
}

func (h *histogram) stats() StageStats {
	var c [len(h.counts)]uint64
	var n uint64
	for i := range h.counts {
		c[i] = h.counts[i].Load()
		n += c[i]
	}
	s := StageStats{Count: n, Max: time.Duration(h.max.Load())}
	if n == 0 {
		return s
	}
	s.Mean = time.Duration(h.sum.Load() / int64(max(h.n.Load(), 1)))
	pct := func(p float64) time.Duration {
		want := uint64(p*float64(n) + 0.5)
		want = max(want, 1)
		var acc uint64
		for i, k := range c {
			acc += k
			if acc >= want {
				return min(bucketUpper(i), s.Max)
			}
		}
		return s.Max
	}
	s.P50, s.P90, s.P99 = pct(0.50), pct(0.90), pct(0.99)
	return s
}

// Stats is a snapshot of one runner's counters (for /metrics and bench).
type Stats struct {
	Camera   string
	Started  time.Time // when Run began
	Frames   uint64    // frames processed
	Dropped  uint64    // frames the source overwrote before the pipeline took them (when it counts them)
	Faces    uint64    // detections
	Embeds   uint64    // embeddings computed
	Tracks   int       // live tracks
	Opens    uint64    // successful source opens
	Failures uint64    // failed opens and failed streams
	Stages   [NumStages]StageStats
	// Recognize is the wall time from the capture of a track's first frame
	// to its recognized event (meaningful when sources stamp frames with
	// the wall-clock capture time, as cameras do).
	Recognize StageStats
	// Age is how old a frame was (since its capture time) when the
	// pipeline took it: the queueing a latest-frame mailbox keeps short.
	Age StageStats
}
