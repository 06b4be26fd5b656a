package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Event is a recognition event as stored. internal/app converts the
// pipeline's events to and from it.
type Event struct {
	ID         string     `json:"id"`   // unique; assigned when empty
	Type       string     `json:"type"` // "recognized", "unknown", "left" …
	Time       time.Time  `json:"time"`
	Camera     string     `json:"camera"`
	Track      int        `json:"track"`
	PersonID   string     `json:"person_id,omitempty"`
	Name       string     `json:"name,omitempty"`
	Similarity float32    `json:"similarity"`
	Box        [4]float32 `json:"box"` // x, y, w, h in image pixels
	Thumb      []byte     `json:"-"`   // JPEG; filled by ListEvents only when asked
	HasThumb   bool       `json:"has_thumb,omitempty"`
}

// Limits on stored events.
const (
	maxEventThumb = 256 << 10
	maxEventField = 256
	// pruneBatch bounds the keys one pruning transaction deletes, so a
	// long prune never holds the writer lock for long.
	pruneBatch = 256
	// DefaultEventLimit is ListEvents' page size when none is given.
	DefaultEventLimit = 50
	// MaxEventLimit bounds a page.
	MaxEventLimit = 1000
)

// Event keys are 8 bytes of big-endian Unix nanoseconds then an 8-byte
// sequence: byte order is time order, and equal times stay distinct.
func eventKey(t time.Time, seq uint64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, uint64(t.UnixNano()))
	binary.BigEndian.PutUint64(k[8:], seq)
	return k
}

func keyTime(k []byte) time.Time { return time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))) }

func decodeEvent(v []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(v, &e); err != nil {
		return e, fmt.Errorf("%w: %v", errRecord, err)
	}
	return e, nil
}

// AddEvent stores an event (and its thumbnail) and returns it with its ID.
// One transaction.
func (s *Store) AddEvent(e Event) (Event, error) {
	switch {
	case e.Type == "" || len(e.Type) > 32:
		return Event{}, fmt.Errorf("store: event type %q", e.Type)
	case len(e.Camera) > maxEventField || len(e.Name) > maxEventField || len(e.PersonID) > maxEventField || len(e.ID) > maxEventField:
		return Event{}, fmt.Errorf("store: event field too long")
	case len(e.Thumb) > maxEventThumb:
		return Event{}, fmt.Errorf("store: event thumbnail of %d bytes, at most %d", len(e.Thumb), maxEventThumb)
	}
	if e.Time.IsZero() {
		e.Time = s.opt.Now()
	}
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bEvents)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		k := eventKey(e.Time, seq)
		if e.ID == "" {
			e.ID = hex.EncodeToString(k)
		}
		ids := tx.Bucket(bEventIDs)
		if ids.Get([]byte(e.ID)) != nil {
			return fmt.Errorf("store: event %s: %w", e.ID, ErrExists)
		}
		e.HasThumb = len(e.Thumb) > 0
		v, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if err := b.Put(k, v); err != nil {
			return err
		}
		if e.HasThumb {
			if err := tx.Bucket(bEventThumbs).Put(k, e.Thumb); err != nil {
				return err
			}
		}
		return ids.Put([]byte(e.ID), k)
	})
	if err != nil {
		return Event{}, err
	}
	return e, nil
}

// EventFilter selects events for ListEvents. Zero fields select everything.
type EventFilter struct {
	PersonID string
	Camera   string
	Known    *bool     // true: recognized people only; false: unknown faces only
	Before   time.Time // only events strictly older
	BeforeID string    // only events older than this one (paging)
	Limit    int       // DefaultEventLimit when 0, at most MaxEventLimit
	Thumbs   bool      // fill Event.Thumb
}

// ListEvents returns matching events, newest first.
func (s *Store) ListEvents(f EventFilter) ([]Event, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultEventLimit
	}
	limit = min(limit, MaxEventLimit)
	var out []Event
	err := s.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bEvents).Cursor()
		thumbs := tx.Bucket(bEventThumbs)
		var k, v []byte
		switch {
		case f.BeforeID != "":
			start := tx.Bucket(bEventIDs).Get([]byte(f.BeforeID))
			if start == nil {
				return fmt.Errorf("store: event %q: %w", f.BeforeID, ErrNotFound)
			}
			c.Seek(start)
			k, v = c.Prev()
		case !f.Before.IsZero():
			seek := eventKey(f.Before, 0)
			if k, _ = c.Seek(seek); k == nil {
				k, v = c.Last()
			} else {
				k, v = c.Prev()
			}
		default:
			k, v = c.Last()
		}
		for ; k != nil && len(out) < limit; k, v = c.Prev() {
			if !f.Before.IsZero() && !keyTime(k).Before(f.Before) {
				continue
			}
			e, err := decodeEvent(v)
			if err != nil {
				return fmt.Errorf("event %x: %w", k, err)
			}
			known := e.PersonID != ""
			if (f.PersonID != "" && e.PersonID != f.PersonID) || (f.Camera != "" && e.Camera != f.Camera) ||
				(f.Known != nil && *f.Known != known) {
				continue
			}
			if f.Thumbs && e.HasThumb {
				e.Thumb = bytes.Clone(thumbs.Get(k))
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// Event returns one event with its thumbnail.
func (s *Store) Event(id string) (Event, error) {
	var out Event
	err := s.view(func(tx *bolt.Tx) error {
		k := tx.Bucket(bEventIDs).Get([]byte(id))
		if k == nil {
			return fmt.Errorf("store: event %q: %w", id, ErrNotFound)
		}
		v := tx.Bucket(bEvents).Get(k)
		if v == nil {
			return fmt.Errorf("store: event %q: %w", id, ErrNotFound)
		}
		e, err := decodeEvent(v)
		if err != nil {
			return err
		}
		e.Thumb = bytes.Clone(tx.Bucket(bEventThumbs).Get(k))
		out = e
		return nil
	})
	return out, err
}

// Retention bounds the event log.
type Retention struct {
	MaxAge   time.Duration // 0: no age limit
	MaxCount int           // 0: no count limit
}

// PruneEvents deletes events older than r.MaxAge and the oldest beyond
// r.MaxCount, in transactions of at most a few hundred keys so readers and
// other writers are never held up for long. It returns how many it deleted.
func (s *Store) PruneEvents(ctx context.Context, r Retention) (int, error) {
	total := 0
	var cutoff []byte
	if r.MaxAge > 0 {
		cutoff = eventKey(s.opt.Now().Add(-r.MaxAge), 0)
	}
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := s.pruneBatch(cutoff, r.MaxCount)
		total += n
		if err != nil || n < pruneBatch {
			return total, err
		}
	}
}

// pruneBatch deletes up to pruneBatch of the oldest events that are older
// than cutoff or beyond maxCount.
func (s *Store) pruneBatch(cutoff []byte, maxCount int) (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bEvents)
		excess := 0
		if maxCount > 0 {
			excess = b.Stats().KeyN - maxCount
		}
		var keys, ids [][]byte
		c := b.Cursor()
		for k, v := c.First(); k != nil && len(keys) < pruneBatch; k, v = c.Next() {
			old := cutoff != nil && bytes.Compare(k, cutoff) < 0
			if !old && len(keys) >= excess {
				break
			}
			keys = append(keys, bytes.Clone(k))
			if e, err := decodeEvent(v); err == nil {
				ids = append(ids, []byte(e.ID))
			}
		}
		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return err
			}
			if err := tx.Bucket(bEventThumbs).Delete(k); err != nil {
				return err
			}
		}
		for _, id := range ids {
			if err := tx.Bucket(bEventIDs).Delete(id); err != nil {
				return err
			}
		}
		n = len(keys)
		return nil
	})
	return n, err
}

// EventCount returns the number of stored events.
func (s *Store) EventCount() (int, error) {
	n := 0
	err := s.view(func(tx *bolt.Tx) error {
		n = tx.Bucket(bEvents).Stats().KeyN
		return nil
	})
	return n, err
}
