package camera

import "time"

// backoff yields capped, exponentially growing waits between open attempts,
// so a camera that is unplugged costs a few wake-ups a minute, not a core.
type backoff struct {
	min, max time.Duration
	cur      time.Duration
}

// next returns the wait before the next attempt and doubles the one after.
func (b *backoff) next() time.Duration {
	if b.cur < b.min {
		b.cur = b.min
	}
	d := b.cur
	b.cur = min(b.cur*2, b.max)
	return d
}

// reset starts again from the minimum, after a stream delivered frames.
func (b *backoff) reset() { b.cur = 0 }
