package tflite

import (
	"sync/atomic"
	"testing"
)

// countStep counts how often each unit runs and which worker ran it.
type countStep struct {
	hits []atomic.Int32
}

func (s *countStep) units() int { return len(s.hits) }

func (s *countStep) run(w *worker, lo, hi int) {
	if w == nil {
		panic("no worker")
	}
	for u := lo; u < hi; u++ {
		s.hits[u].Add(1)
	}
}

// TestPoolRunsEveryUnitOnce dispatches many steps of varied sizes: every
// unit must run exactly once per dispatch, whatever the helpers' timing.
func TestPoolRunsEveryUnitOnce(t *testing.T) {
	for _, helpers := range []int{1, 3} {
		p := newPool(helpers)
		ws := make([]worker, helpers+1)
		for d := range 300 {
			n := 1 + (d*37)%200
			align := []int{1, 8}[d%2]
			s := &countStep{hits: make([]atomic.Int32, n)}
			p.run(s, n, align, 1+d%4, ws)
			for u := range s.hits {
				if h := s.hits[u].Load(); h != 1 {
					t.Fatalf("helpers %d, dispatch %d (n %d, align %d): unit %d ran %d times", helpers, d, n, align, u, h)
				}
			}
		}
		p.close()
	}
}
