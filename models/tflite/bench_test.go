package tflite

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time: under a loaded machine it
// is a steadier measure than wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// noiseInput fills v with the golden inputs' SplitMix64 pixels, normalised
// as (p − sub) / div.
func noiseInput(v []float32, sub, div float64) {
	var s uint64 = 1
	for i := range v {
		s += 0x9e3779b97f4a7c15
		z := s
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
		v[i] = float32((float64(uint8(z>>56)) - sub) / div)
	}
}

func benchModel(b *testing.B, name string, batch1 bool) {
	m := loadModel(b, name)
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("threads=%d", threads), func(b *testing.B) {
			ip, err := NewInterpreter(m, Options{Threads: threads})
			if err != nil {
				b.Fatal(err)
			}
			defer ip.Close()
			if batch1 {
				s := ip.InputShape(0)
				s[0] = 1
				if err := ip.ResizeInput(0, s); err != nil {
					b.Fatal(err)
				}
			}
			noiseInput(ip.Input(0), 127.5, 127.5)
			if err := ip.Invoke(); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			c0 := cpuTime()
			for b.Loop() {
				if err := ip.Invoke(); err != nil {
					b.Fatal(err)
				}
			}
			cpu := cpuTime() - c0
			b.ReportMetric(float64(cpu.Nanoseconds())/1e6/float64(b.N), "cpu-ms/op")
			ms := float64(b.Elapsed().Nanoseconds()) / 1e6 / float64(b.N)
			b.ReportMetric(ms, "ms/op")
			b.ReportMetric(float64(ip.MACs())/ms/1e6, "GMAC/s")
		})
	}
}

func BenchmarkShortRange(b *testing.B)      { benchModel(b, "face_detection_short_range", false) }
func BenchmarkFullSparse(b *testing.B)      { benchModel(b, "face_detection_full_range_sparse", false) }
func BenchmarkFullDense(b *testing.B)       { benchModel(b, "face_detection_full_range", false) }
func BenchmarkMobileFaceNetB1(b *testing.B) { benchModel(b, "MobileFaceNet", true) }
