package tflite

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzLoad feeds Load arbitrary bytes, seeded with the shipped models, their
// truncations and bit flips. Load must return an error or a model, never
// panic or hang; a small model that loads must also run.
func FuzzLoad(f *testing.F) {
	paths, _ := filepath.Glob(filepath.Join(moduleRoot(f), "models", "*.tflite"))
	rng := rand.New(rand.NewPCG(7, 11))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		for _, n := range []int{16, 256, len(data) / 3, len(data) - 7} {
			f.Add(data[:n])
		}
		for range 4 {
			d := slices.Clone(data)
			for range 4 {
				d[rng.IntN(len(d))] ^= 1 << rng.IntN(8)
			}
			f.Add(d)
		}
	}
	f.Add([]byte("\x00\x00\x00\x00TFL3"))
	// A tiny hand-built model lets mutations reach deep into the graph code.
	tiny := tinyConvModel()
	f.Add(tiny)
	for i := 8; i < len(tiny); i += 7 {
		d := slices.Clone(tiny)
		d[i] ^= 0x41
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Load(data)
		if err != nil {
			return
		}
		_ = m.Stats()
		act := 0
		for _, tt := range m.tensors {
			if !tt.cst {
				n, _ := numElems(tt.shape)
				act += n
			}
		}
		if m.stats.MACs > 40e6 || act > 1<<21 {
			return // too slow to run on every input (short-range still runs)
		}
		ip, err := NewInterpreter(m, Options{Threads: 2})
		if err != nil {
			return
		}
		defer ip.Close()
		if err := ip.Invoke(); err != nil {
			t.Fatal(err)
		}
	})
}
