package pipeline

import (
	"testing"
	"time"
)

func TestSweepPublishesAway(t *testing.T) {
	hub := NewHub[Event](nil)
	sub := hub.Subscribe("t", 4)
	p := NewPresence(time.Minute)
	t0 := time.Unix(1000, 0)
	p.Seen("id1", "김민수", "door", t0)
	p.Sweep(t0.Add(30*time.Second), hub)
	select {
	case ev := <-sub.C:
		t.Fatalf("away before the timeout: %+v", ev)
	default:
	}
	p.Sweep(t0.Add(61*time.Second), hub)
	select {
	case ev := <-sub.C:
		if ev.Type != EventPresence || ev.State != StateAway || ev.PersonID != "id1" || ev.Name != "김민수" || ev.ID == "" {
			t.Errorf("sweep event %+v", ev)
		}
	default:
		t.Fatal("no away event after the timeout")
	}
	p.Sweep(t0.Add(120*time.Second), hub)
	select {
	case ev := <-sub.C:
		t.Errorf("away reported twice: %+v", ev)
	default:
	}
}
