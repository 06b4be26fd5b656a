package tflite

import (
	"sync"
	"sync/atomic"
)

// pool shares a step's units between the calling goroutine and the helper
// goroutines. Work is cut into a few chunks per thread that every
// participant takes from a shared counter, so a helper that wakes up late
// (a busy machine) only means the others take more chunks; nobody waits for
// a fixed share. Dispatch allocates nothing.
type pool struct {
	jobs  []chan job // one per helper
	slots [4]slot    // consecutive dispatches use different slots
	seq   int
	exit  sync.WaitGroup
}

// slot is the shared state of one dispatch.
type slot struct {
	next   atomic.Int64   // next chunk to take
	left   atomic.Int64   // units not finished yet
	active sync.WaitGroup // helpers that may still read this slot
	done   chan struct{}  // one token, from whoever finishes the last unit
}

// job tells a helper to take chunks of s from sl with worker w.
type job struct {
	s        step
	w        *worker
	n, chunk int
	sl       *slot
}

func newPool(helpers int) *pool {
	p := &pool{jobs: make([]chan job, helpers)}
	for i := range p.slots {
		p.slots[i].done = make(chan struct{}, 1)
	}
	p.exit.Add(helpers)
	for i := range p.jobs {
		ch := make(chan job, 1)
		p.jobs[i] = ch
		go func() {
			defer p.exit.Done()
			for j := range ch {
				work(j)
				j.sl.active.Done()
			}
		}()
	}
	return p
}

// work takes and runs chunks until none are left.
func work(j job) {
	for {
		c := int(j.sl.next.Add(1) - 1)
		lo := c * j.chunk
		if lo >= j.n {
			return
		}
		hi := min(lo+j.chunk, j.n)
		j.s.run(j.w, lo, hi)
		if j.sl.left.Add(int64(lo-hi)) == 0 {
			j.sl.done <- struct{}{}
		}
	}
}

// run computes units [0, n) of s on all workers in chunks aligned to align
// units, about perThread chunks per worker, and returns when all are done.
func (p *pool) run(s step, n, align, perThread int, ws []worker) {
	t := len(ws)
	chunks := max(1, min(perThread*t, n/align))
	chunk := (n + chunks - 1) / chunks
	chunk = (chunk + align - 1) / align * align
	sl := &p.slots[p.seq%len(p.slots)]
	p.seq++
	sl.active.Wait() // a helper that slept through the last dispatches is done with this slot
	sl.next.Store(0)
	sl.left.Store(int64(n))
	helpers := min(len(p.jobs), (n+chunk-1)/chunk-1)
	for k, ch := range p.jobs[:helpers] {
		sl.active.Add(1)
		select {
		case ch <- job{s: s, w: &ws[k+1], n: n, chunk: chunk, sl: sl}:
		default:
			sl.active.Done() // still asleep with an older job: skip it this time
		}
	}
	work(job{s: s, w: &ws[0], n: n, chunk: chunk, sl: sl})
	<-sl.done
}

// close stops the helpers and waits for them to exit.
func (p *pool) close() {
	for _, ch := range p.jobs {
		close(ch)
	}
	p.exit.Wait()
}
