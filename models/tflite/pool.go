package tflite

import "sync"

// pool runs a step's units on the interpreter's worker goroutines: the
// calling goroutine takes the first share, helpers the rest. Dispatch sends
// values over channels and allocates nothing.
type pool struct {
	jobs []chan job
	busy sync.WaitGroup // the current dispatch
	exit sync.WaitGroup // the helper goroutines
}

type job struct {
	s      step
	w      *worker
	lo, hi int
}

func newPool(helpers int) *pool {
	p := &pool{jobs: make([]chan job, helpers)}
	p.exit.Add(helpers)
	for i := range p.jobs {
		ch := make(chan job)
		p.jobs[i] = ch
		go func() {
			defer p.exit.Done()
			for j := range ch {
				j.s.run(j.w, j.lo, j.hi)
				p.busy.Done()
			}
		}()
	}
	return p
}

// run splits [0, n) into len(ws) shares aligned to align units and waits
// for all of them.
func (p *pool) run(s step, n, align int, ws []worker) {
	t := len(ws)
	share := (n + t - 1) / t
	share = (share + align - 1) / align * align
	lo := min(share, n)
	k := 0
	for start := lo; start < n; start += share {
		p.busy.Add(1)
		p.jobs[k] <- job{s: s, w: &ws[k+1], lo: start, hi: min(start+share, n)}
		k++
	}
	s.run(&ws[0], 0, lo)
	p.busy.Wait()
}

// close stops the helpers and waits for them to exit.
func (p *pool) close() {
	for _, ch := range p.jobs {
		close(ch)
	}
	p.exit.Wait()
}
