package kern

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time; on a loaded machine the
// rate per CPU second is steadier than per wall second.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loop runs f b.N times and reports GMAC/s per wall and per CPU second.
func loop(b *testing.B, macsPerOp float64, f func()) {
	c0 := cpuTime()
	for b.Loop() {
		f()
	}
	macs := macsPerOp * float64(b.N)
	b.ReportMetric(macs/b.Elapsed().Seconds()/1e9, "GMAC/s")
	if cpu := cpuTime() - c0; cpu > 0 {
		b.ReportMetric(macs/cpu.Seconds()/1e9, "cpu-GMAC/s")
	}
}

// The GEMM shapes are MobileFaceNet's 1×1 convolutions at batch 1 (rows =
// pixels, K = input channels, N = output channels), then two BlazeFace-like
// ones.
var gemmShapes = []struct{ M, K, N int }{
	{3136, 64, 128}, {784, 128, 256}, {196, 256, 512}, {49, 512, 128},
	// BlazeFace-like: channel counts that leave partial panels.
	{4096, 24, 28}, {1024, 42, 48},
}

func BenchmarkGemm(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	for _, sh := range gemmShapes {
		a := randSlice(r, sh.M*sh.K)
		p := PackWeights(randSlice(r, sh.N*sh.K), sh.N, sh.K)
		c := make([]float32, sh.M*sh.N)
		ep := &Epilogue{Bias: randSlice(r, sh.N), Act: ActPRelu, Alpha: randSlice(r, sh.N)}
		for _, im := range impls() {
			b.Run(fmt.Sprintf("%v/M%d_K%d_N%d", im, sh.M, sh.K, sh.N), func(b *testing.B) {
				loop(b, float64(sh.M*sh.K*sh.N), func() { gemm(im, c, sh.N, a, sh.K, 0, sh.M, p, ep) })
			})
		}
	}
}

func BenchmarkDepthwise(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, s := range []int{1, 2} {
		p := &DWParams{H: 56, W: 56, C: 128, KH: 3, KW: 3, SH: s, SW: s, PadT: 1, PadL: 1}
		if s == 2 { // TFLite SAME on an even size pads only after
			p.PadT, p.PadL = 0, 0
		}
		p.OH, p.OW = (56+s-1)/s, (56+s-1)/s
		in := randSlice(r, p.H*p.W*p.C)
		w := randSlice(r, 9*p.C)
		out := make([]float32, p.OH*p.OW*p.C)
		ep := &Epilogue{Bias: randSlice(r, p.C), Act: ActRelu}
		for _, im := range impls() {
			b.Run(fmt.Sprintf("%v/56x56x128_3x3_s%d", im, s), func(b *testing.B) {
				loop(b, float64(p.OH*p.OW*p.C*9), func() { depthwise(im, out, in, w, p, ep, 0, p.OH) })
			})
		}
	}
}
