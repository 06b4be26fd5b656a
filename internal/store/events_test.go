package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestEventsListFilterPage(t *testing.T) {
	s := openTest(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var all []Event
	for i := range 30 {
		e := Event{Type: "unknown", Time: t0.Add(time.Duration(i) * time.Second), Camera: []string{"door", "yard"}[i%2], Track: i}
		if i%3 == 0 {
			e.Type, e.PersonID, e.Name = "recognized", "p1", "김민수"
		}
		if i%5 == 0 {
			e.Thumb = []byte{0xff, 0xd8, byte(i)}
		}
		got, err := s.AddEvent(e)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID == "" {
			t.Fatal("no ID assigned")
		}
		all = append(all, got)
	}
	// two events at the same instant stay distinct
	if _, err := s.AddEvent(Event{Type: "left", Time: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddEvent(Event{ID: all[0].ID, Type: "left"}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate ID: %v", err)
	}
	if _, err := s.AddEvent(Event{}); err == nil {
		t.Fatal("event without type accepted")
	}

	list, err := s.ListEvents(EventFilter{Limit: 5})
	if err != nil || len(list) != 5 || list[0].Track != 29 || list[4].Track != 25 {
		t.Fatalf("newest first: %v %+v", err, list)
	}
	if list[4].Thumb != nil || !list[4].HasThumb {
		t.Fatalf("thumb filled without asking, or HasThumb lost: %+v", list[4])
	}
	next, err := s.ListEvents(EventFilter{Limit: 5, BeforeID: list[4].ID, Thumbs: true})
	if err != nil || len(next) != 5 || next[0].Track != 24 {
		t.Fatalf("page 2: %v %+v", err, next)
	}
	if next[4].Track != 20 || string(next[4].Thumb) != "\xff\xd8\x14" {
		t.Fatalf("thumb of track 20: %+v", next[4])
	}
	yes, no := true, false
	known, err := s.ListEvents(EventFilter{Known: &yes, Limit: 100})
	if err != nil || len(known) != 10 {
		t.Fatalf("known: %d %v", len(known), err)
	}
	for _, e := range known {
		if e.PersonID != "p1" || e.Name != "김민수" {
			t.Fatalf("known filter let through %+v", e)
		}
	}
	unknown, _ := s.ListEvents(EventFilter{Known: &no, Camera: "door", Limit: 100})
	for _, e := range unknown {
		if e.PersonID != "" || e.Camera != "door" {
			t.Fatalf("unknown+door filter let through %+v", e)
		}
	}
	if len(unknown) != 10 { // even tracks not divisible by 3
		t.Fatalf("unknown at the door: %d events, want 10", len(unknown))
	}
	before, _ := s.ListEvents(EventFilter{Before: t0.Add(3 * time.Second), Limit: 100})
	if len(before) != 4 { // tracks 0,1,2 and the extra event at t0
		t.Fatalf("before t0+3s: %d events", len(before))
	}
	for _, e := range before {
		if !e.Time.Before(t0.Add(3 * time.Second)) {
			t.Fatalf("event at %v not before", e.Time)
		}
	}
	if _, err := s.ListEvents(EventFilter{BeforeID: "nope"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown before ID: %v", err)
	}
	e, err := s.Event(all[10].ID)
	if err != nil || e.Track != 10 || string(e.Thumb) != "\xff\xd8\x0a" {
		t.Fatalf("event by id: %+v %v", e, err)
	}
}

func TestPruneEvents(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	s, err := OpenDir(t.TempDir(), Options{NoSync: true, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// 1000 events, one a minute up to now, every tenth with a thumbnail
	for i := range 1000 {
		e := Event{Type: "unknown", Time: now.Add(-time.Duration(999-i) * time.Minute), Track: i}
		if i%10 == 0 {
			e.Thumb = []byte{1}
		}
		if _, err := s.AddEvent(e); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.PruneEvents(context.Background(), Retention{MaxAge: 10 * time.Hour})
	// the event exactly 10 h old (track 399) is not older than the limit
	if err != nil || n != 399 {
		t.Fatalf("age prune removed %d (%v), want 399", n, err)
	}
	list, _ := s.ListEvents(EventFilter{Limit: MaxEventLimit})
	if len(list) != 601 || list[len(list)-1].Track != 399 {
		t.Fatalf("after age prune: %d left, oldest %d", len(list), list[len(list)-1].Track)
	}
	n, err = s.PruneEvents(context.Background(), Retention{MaxCount: 50})
	if err != nil || n != 551 {
		t.Fatalf("count prune removed %d (%v), want 551", n, err)
	}
	if c, _ := s.EventCount(); c != 50 {
		t.Fatalf("%d events left", c)
	}
	if _, err := s.Event(list[len(list)-1].ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("pruned event still indexed: %v", err)
	}
	err = s.view(func(txn *bolt.Tx) error {
		if k := txn.Bucket(bEventThumbs).Stats().KeyN; k != 5 {
			return fmt.Errorf("%d thumbnails left, want 5", k)
		}
		if k := txn.Bucket(bEventIDs).Stats().KeyN; k != 50 {
			return fmt.Errorf("%d event IDs left, want 50", k)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s.PruneEvents(context.Background(), Retention{}); n != 0 {
		t.Fatalf("no retention pruned %d", n)
	}
}
